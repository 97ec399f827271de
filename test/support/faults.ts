// Real processes to break: a redis-server that can be killed, stopped and restarted on its port,
// and the demo upstream in a process of its own (as `npm run demo-upstream` runs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ping } from './redis.js';
import { fhir } from './fhir.js';
import type { WsClient } from './ws-client.js';

export class RedisProcess {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'fsg-fault-redis-'));

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** `aof`: append-only file fsynced on every write, as production should run. */
  static async start(options: { aof: boolean }): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort(), options.aof ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''] : ['--appendonly', 'no', '--save', '']);
    await r.run();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async run(): Promise<void> {
    const child = spawn('redis-server', [...this.args, '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log')], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGKILL: nothing is flushed that was not already. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class DemoUpstreamProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<DemoUpstreamProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], { env: { ...process.env, DEMO_UPSTREAM_PORT: String(port), LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/fhir`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fhir('GET', `${url}/metadata`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('demo upstream did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    return new DemoUpstreamProcess(child, url);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}

interface Part {
  name: string;
  valueString?: string;
  valueCode?: string;
  valueReference?: { reference?: string };
  part?: Part[];
}

/** Every event a client received for a subscription, in arrival order (R4 notifications). */
export function receivedEvents(client: WsClient, subscriptionId: string): Array<{ number: number; focus: string }> {
  const out: Array<{ number: number; focus: string }> = [];
  for (const frame of client.frames) {
    const status = (frame.entry as Array<{ resource?: { resourceType?: string; parameter?: Part[] } }> | undefined)?.[0]?.resource;
    if (status?.resourceType !== 'Parameters') continue;
    const params = status.parameter ?? [];
    if (params.find((p) => p.name === 'type')?.valueCode !== 'event-notification') continue;
    if (
      params
        .find((p) => p.name === 'subscription')
        ?.valueReference?.reference?.split('/')
        .pop() !== subscriptionId
    )
      continue;
    for (const p of params.filter((q) => q.name === 'notification-event')) {
      const n = p.part?.find((q) => q.name === 'event-number')?.valueString;
      const focus = p.part?.find((q) => q.name === 'focus')?.valueReference?.reference ?? '';
      if (n !== undefined) out.push({ number: Number(n), focus: focus.replace(/^.*\/([A-Za-z]+\/[^/]+)$/, '$1') });
    }
  }
  return out;
}

/** Just the event numbers of receivedEvents. */
export function receivedNumbers(client: WsClient, subscriptionId: string): number[] {
  return receivedEvents(client, subscriptionId).map((e) => e.number);
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
