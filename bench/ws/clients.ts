// The orchestrator's side of the client processes: above ~90 k notifications/s one Node client is
// the bottleneck on a 2-core machine, so the sockets are spread over several processes, each bound
// and queried over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Binding, ClientStats, FromClient, ToClient, Write } from './protocol.js';

type Request = ToClient extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

class ClientProcess {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (m: FromClient) => void>();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./client.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=2048'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (raw) => {
      const message = raw as FromClient;
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
    this.child.on('exit', (code, signal) => {
      for (const resolve of this.pending.values()) resolve({ op: 'closed', id: -1 });
      if (code !== 0 && signal === null) console.error(`bench client exited with ${code}`);
    });
  }

  ask<T extends FromClient['op']>(request: Request): Promise<Extract<FromClient, { op: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.id === -1 ? reject(new Error('bench client exited')) : resolve(m as Extract<FromClient, { op: T }>)));
      this.child.send({ ...request, id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.ask<'closed'>({ op: 'close' }).catch(() => undefined);
    if (this.child.exitCode === null) {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await once(this.child, 'exit');
      clearTimeout(timer);
    }
  }
}

export class Clients {
  private readonly procs: ClientProcess[];

  constructor(count: number) {
    this.procs = Array.from({ length: count }, () => new ClientProcess());
  }

  /** Binds every subscription on its own socket, spread round-robin over the processes. */
  async bind(target: string, wsUrl: string, bindings: Binding[]): Promise<void> {
    const shares = this.procs.map((_, i) => bindings.filter((_, j) => j % this.procs.length === i));
    const answers = await Promise.all(this.procs.map((p, i) => p.ask<'bound'>({ op: 'bind', target, wsUrl, bindings: shares[i]! })));
    const bound = answers.reduce((n, a) => n + a.count, 0);
    if (bound !== bindings.length) throw new Error(`${target}: ${bound} of ${bindings.length} sockets bound: ${answers.flatMap((a) => a.errors).join('; ')}`);
  }

  /** The client processes' pids, to read their CPU: a starved client shows up as latency. */
  get pids(): number[] {
    return this.procs.map((p) => p.child.pid!);
  }

  async start(target: string, run: string, windowEnd: number): Promise<void> {
    await Promise.all(this.procs.map((p) => p.ask<'started'>({ op: 'start', target, run, windowEnd })));
  }

  async received(): Promise<number> {
    const answers = await Promise.all(this.procs.map((p) => p.ask<'progress'>({ op: 'progress' })));
    return answers.reduce((n, a) => n + a.received, 0);
  }

  async collect(writes: Write[]): Promise<ClientStats[]> {
    const answers = await Promise.all(this.procs.map((p) => p.ask<'collected'>({ op: 'collect', writes })));
    return answers.map((a) => a.stats);
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.close()));
  }
}
