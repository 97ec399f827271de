// The processes one benchmark stack is made of, each started as an operator would start it:
// redis-server on a free port, the demo upstream (`src/demo/main.ts`), the gateway (`src/main.ts`,
// Redis engine) and the baseline (`bench/baseline-server.ts`). Output is kept only as a short tail
// for error messages, so long runs do not grow the orchestrator's memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort, startRedis, type TestRedis } from '../../test/support/redis.js';

const TAIL_LINES = 30;
/** Every process started and not yet exited, so an interrupted benchmark leaves none behind. */
const live = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

export class Proc {
  readonly child: ChildProcess;
  private tail: string[] = [];
  private waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    this.child.once('exit', () => live.delete(this.child));
    let partial = '';
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        this.waiters = this.waiters.filter((w) => {
          const m = w.pattern.exec(line);
          if (m) w.resolve(m);
          return !m;
        });
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first output line matching `pattern`; rejects if the process exits first. */
  async line(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpExecArray>((resolve) => this.waiters.push({ pattern, resolve })),
        once(this.child, 'exit').then(() => {
          throw new Error(`${this.name} exited:\n${this.output()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} did not log ${pattern} within ${timeoutMs} ms:\n${this.output()}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  output(): string {
    return this.tail.join('\n');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }
}

export interface BenchRedis {
  url: string;
  /** A client for INFO and PUBLISH. */
  client: Redis;
  /** The redis-server's pid, for its RSS. */
  pid: number;
  stop(): Promise<void>;
}

/** A private redis-server: the benchmark reads its CPU and memory, so it must be nobody else's. */
export async function startBenchRedis(): Promise<BenchRedis> {
  if (process.env.REDIS_URL) throw new Error('the benchmark starts its own redis-server and reads its CPU: unset REDIS_URL');
  const redis: TestRedis = await startRedis();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  client.on('error', () => undefined);
  const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
  return {
    url: redis.url,
    client,
    pid,
    stop: async () => {
      client.disconnect();
      await redis.stop();
    },
  };
}

export async function startUpstream(): Promise<{ proc: Proc; url: string }> {
  const proc = new Proc('demo upstream', ['src/demo/main.ts'], { DEMO_UPSTREAM_PORT: String(await freePort()), LOG_LEVEL: 'info' });
  const m = await proc.line(/"url":"([^"]+)"[^\n]*"msg":"demo upstream listening"/);
  return { proc, url: m[1]! };
}

export interface GatewayOptions {
  upstream: string;
  redis: string;
  eventsChannel: string;
  tokenSecret: string;
  extraEnv: Record<string, string>;
}

/** `port`: a restart takes the old one, so PUBLIC_BASE_URL (the tokens' issuer) stays the same. */
export async function startGateway(opts: GatewayOptions, port?: number): Promise<{ proc: Proc; base: string; wsUrl: string; port: number }> {
  port ??= await freePort();
  const base = `http://127.0.0.1:${port}/fhir`;
  const proc = new Proc('gateway', ['src/main.ts'], {
    CONFIG_FILE: '',
    PORT: String(port),
    HOST: '127.0.0.1',
    FHIR_UPSTREAM_URL: opts.upstream,
    PUBLIC_BASE_URL: base,
    REDIS_URL: opts.redis,
    REDIS_KEY_PREFIX: 'bench:',
    EVENTS_CHANNEL: opts.eventsChannel,
    TOKEN_SECRET: opts.tokenSecret,
    TOKEN_LIFETIME_SECONDS: '86400',
    DELIVERY_AUTHORIZATION: 'none',
    LOG_LEVEL: 'info',
    ...opts.extraEnv,
  });
  await proc.line(/"msg":"gateway listening"/);
  return { proc, base, wsUrl: `ws://127.0.0.1:${port}/ws`, port };
}

export async function startBaseline(upstream: string, redis: string, channel: string): Promise<{ proc: Proc; base: string; wsUrl: string; port: number }> {
  const proc = new Proc('baseline', ['bench/baseline-server.ts', '--upstream', upstream, '--redis', redis, '--channel', channel], {});
  const port = Number((await proc.line(/"msg":"baseline listening","port":(\d+)/))[1]);
  return { proc, base: `http://127.0.0.1:${port}/fhir`, wsUrl: `ws://127.0.0.1:${port}/ws`, port };
}
