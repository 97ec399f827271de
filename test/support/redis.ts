// A real Redis for tests: a private redis-server on a free port, or the one REDIS_URL names.
//
// The shared Redis on 127.0.0.1:6379 belongs to other projects too: this helper never starts
// there, never flushes anything, and tests must put every key and channel under a prefix from
// newPrefix() (unique per call), which is also what stop() cleans up on an external Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  url: string;
  /** True when REDIS_URL was used: someone else's server, only our prefixes may be touched. */
  external: boolean;
  /** A fresh key/channel prefix (`test:<random>:`), remembered for cleanup. */
  newPrefix(label?: string): string;
  /** Stops our server, or on an external Redis deletes the keys under our prefixes. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export function randomPrefix(label = 'test'): string {
  return `${label}:${randomBytes(6).toString('hex')}:`;
}

/** One server per test file is the intended use; each call starts its own. */
export async function startRedis(): Promise<TestRedis> {
  const prefixes: string[] = [];
  const newPrefix = (label?: string): string => {
    const prefix = randomPrefix(label);
    prefixes.push(prefix);
    return prefix;
  };
  const external = process.env.REDIS_URL;
  if (external) {
    return {
      url: external,
      external: true,
      newPrefix,
      stop: () => deleteKeys(external, prefixes),
    };
  }
  // The port we pick can be taken before redis-server binds it; try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const server = await startServer(await freePort());
      return { url: `redis://127.0.0.1:${server.port}`, external: false, newPrefix, stop: server.stop };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** Deletes the keys under the given prefixes (SCAN, never FLUSH). */
export async function deleteKeys(url: string, prefixes: readonly string[]): Promise<void> {
  if (prefixes.length === 0) return;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const prefix of prefixes) {
      if (!/^[\w:.-]+$/.test(prefix)) throw new Error(`refusing to SCAN for an unusual prefix: ${prefix}`);
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

interface Server {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** Starts redis-server with `args` (config file and/or options) plus port, temp dir and log file. */
async function startServer(port: number, args: readonly string[] = DATA_ARGS): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'fsg-redis-'));
  const logFile = join(dir, 'redis.log');
  const fullArgs = args.map((a) => a.replaceAll('$DIR', dir));
  const child = spawn(
    'redis-server',
    [...fullArgs, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', logFile],
    // Output goes to the log file and the child is unref'd: a test that forgets stop() must
    // not keep mocha alive, and the exit hook still kills the server.
    { stdio: 'ignore' },
  );
  child.unref();
  running.add(child);
  installExitHook();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.race([
      waitForPong(port, () => exited),
      spawnFailed,
      exit.then(() => {
        throw new Error(`redis-server exited during startup:\n${readLog(logFile)}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, stop };
}

const DATA_ARGS = ['--save', '', '--appendonly', 'no'];

export interface HostPort {
  host: string;
  port: number;
}

export interface TestSentinel {
  /** The sentinel to ask, and the master group name it monitors. */
  sentinels: HostPort[];
  name: string;
  stop(): Promise<void>;
}

/** A master and one sentinel monitoring it, both private (never REDIS_URL). */
export async function startRedisSentinel(): Promise<TestSentinel> {
  const master = await startServer(await freePort());
  const name = 'fsgtest';
  try {
    // Sentinel rewrites its config file, so it needs one of its own in a writable place.
    const confDir = mkdtempSync(join(tmpdir(), 'fsg-sentinel-conf-'));
    const conf = join(confDir, 'sentinel.conf');
    writeFileSync(conf, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1\n`);
    const sentinel = await startServer(await freePort(), [conf, '--sentinel']);
    return {
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      name,
      stop: async () => {
        await sentinel.stop();
        await master.stop();
        rmSync(confDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await master.stop();
    throw err;
  }
}

export interface TestCluster {
  nodes: HostPort[];
  stop(): Promise<void>;
}

/** A private Redis Cluster of `size` masters covering all slots (never REDIS_URL). */
export async function startRedisCluster(size = 3): Promise<TestCluster> {
  const servers: Server[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      // An explicit bus port: the default (port + 10000) may be taken or above 65535.
      const busPort = await freePort();
      servers.push(
        await startServer(await freePort(), [
          ...DATA_ARGS,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          '$DIR/nodes.conf',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await waitForClusterOk(servers.map((s) => s.port));
    return { nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForClusterOk(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const port of ports) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok in time`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.disconnect();
    }
  }
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

async function waitForPong(port: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!gaveUp()) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A bare RESP PING, so readiness does not depend on client retry behaviour. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
