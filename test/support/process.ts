import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A gateway as its own process (node --import tsx src/main.ts), as an operator would run it. */
export class GatewayProcess {
  private out = '';
  private err = '';
  readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', CONFIG_FILE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      if (this.child.exitCode !== null) throw new Error(`gateway exited: ${this.err}${this.out}`);
      if (Date.now() > deadline) throw new Error(`gateway did not start: ${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const [code] = (await once(this.child, 'exit')) as [number | null];
    clearTimeout(timer);
    return code;
  }
}
