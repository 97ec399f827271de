import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

export interface SpawnOptions {
  cwd?: string;
  /** The whole environment of the child (nothing is inherited unless passed). */
  env: Record<string, string | undefined>;
}

/** A process started as an operator would, with its output kept for assertions. */
export class ServiceProcess {
  private out = '';
  private err = '';
  readonly child: ChildProcess;

  constructor(command: string, args: string[], opts: SpawnOptions) {
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Resolves with the port once the gateway logs that it listens. */
  async listening(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(this.out);
      if (m) return Number(m[1]);
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited (${this.child.exitCode ?? this.child.signalCode}): ${this.err}${this.out}`);
      if (Date.now() > deadline) throw new Error(`did not start: ${this.err}${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The exit code (or signal name) once the process has ended. */
  async exited(timeoutMs = 20_000): Promise<number | string> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await once(this.child, 'exit');
      clearTimeout(timer);
    }
    return this.child.exitCode ?? this.child.signalCode!;
  }

  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    await this.exited(15_000);
    return this.child.exitCode;
  }

  /** For `finally` blocks: gone whatever state it is in. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** A gateway as its own process (node --import tsx src/main.ts), as an operator would run it. */
export class GatewayProcess extends ServiceProcess {
  constructor(env: Record<string, string>) {
    super(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', CONFIG_FILE: '', ...env } });
  }
}

/** The direct children of a process (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process of that id still exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
