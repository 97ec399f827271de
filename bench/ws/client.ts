// One client process of the load generator: WebSockets (the `ws` package), one per subscription,
// bound with `bind-with-token`. It checks every frame as it arrives (subscription, patient, event
// number, payload equal to what was written) and reports counts and a latency histogram on request.
// Started by ws-load.ts with an IPC channel; never run by hand.
import WebSocket from 'ws';
import { parseFrame } from './frame.js';
import { Histogram } from './histogram.js';
import { isWritten, nowMs, readMark } from './patient.js';
import type { Binding, ClientStats, FromClient, ToClient, Write } from './protocol.js';

const CONNECT_CONCURRENCY = 100;
const BIND_TIMEOUT_MS = 120_000;
const MAX_ERRORS = 5;

interface Sock {
  target: string;
  binding: Binding;
  ws: WebSocket;
  lastNumber: number;
  bound: boolean;
  /** Which seqs of the current run arrived: seen[seq] counts deliveries. */
  seen: Uint8Array;
}

/** Sockets by target (gateway, baseline): both stay bound, one is measured at a time. */
const sockets = new Map<string, Sock[]>();
let target = '';
let run = '';
let windowEnd = 0;
let stats = freshStats();
let latency = new Histogram();

function freshStats(): ClientStats {
  return { received: 0, inWindow: 0, latency: {}, duplicates: 0, missing: 0, misrouted: 0, bad: 0, gaps: 0, stale: 0, unacknowledged: 0, closed: 0, errors: [] };
}

function fail(kind: 'misrouted' | 'bad' | 'duplicates' | 'gaps', message: string): void {
  stats[kind]++;
  if (stats.errors.length < MAX_ERRORS) stats.errors.push(`${kind}: ${message}`);
}

function onFrame(sock: Sock, text: string): void {
  const arrived = nowMs();
  const frame = parseFrame(text);
  if ('error' in frame) return fail('bad', `${sock.binding.subscription}: ${frame.error}`);
  if (frame.subscription !== sock.binding.subscription) return fail('misrouted', `Subscription/${frame.subscription} on the socket of ${sock.binding.subscription}`);
  if (frame.type === 'handshake') {
    sock.lastNumber = frame.eventsSince;
    sock.bound = true;
    return;
  }
  if (frame.type !== 'event-notification') return; // heartbeats: none are configured, harmless if any
  const number = frame.eventNumber!;
  if (number <= sock.lastNumber) return fail('duplicates', `event ${number} again on ${sock.binding.subscription} (last ${sock.lastNumber})`);
  if (number !== sock.lastNumber + 1) fail('gaps', `${sock.binding.subscription}: event ${sock.lastNumber} then ${number}`);
  sock.lastNumber = number;
  const mark = readMark(frame.resource);
  if (!mark) return fail('bad', `${sock.binding.subscription}: event ${number} carries no write mark`);
  if (mark.run !== run) {
    stats.stale++;
    return;
  }
  const patient = sock.binding.patient;
  if (!frame.focus!.endsWith(`/Patient/${patient}`)) return fail('misrouted', `${frame.focus} on the socket of Patient/${patient}`);
  const resource = frame.resource as { meta?: { versionId?: string } };
  if (!isWritten(resource, patient, mark) || frame.etagVersion !== resource.meta?.versionId) return fail('bad', `${sock.binding.subscription}: write ${mark.seq} differs from what was written`);
  if (mark.seq >= sock.seen.length) {
    const grown = new Uint8Array(Math.max(mark.seq + 1, sock.seen.length * 2));
    grown.set(sock.seen);
    sock.seen = grown;
  }
  if (sock.seen[mark.seq]! > 0) return fail('duplicates', `write ${mark.seq} twice on ${sock.binding.subscription}`);
  sock.seen[mark.seq] = 1;
  stats.received++;
  if (arrived <= windowEnd) stats.inWindow++;
  latency.record(arrived - mark.sentAt);
}

function open(wsUrl: string, binding: Binding, target: string): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const sock: Sock = { target, binding, ws, lastNumber: 0, bound: false, seen: new Uint8Array(64) };
    const timer = setTimeout(() => reject(new Error(`no handshake for ${binding.subscription}`)), BIND_TIMEOUT_MS);
    ws.on('open', () => ws.send(`bind-with-token ${binding.token}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return fail('bad', 'a binary frame');
      const text = (data as Buffer).toString('utf8');
      // A refused bind is answered with an OperationOutcome: fail now rather than at the timeout.
      if (!sock.bound && text.includes('"resourceType":"OperationOutcome"')) {
        clearTimeout(timer);
        ws.terminate();
        return reject(new Error(`${binding.subscription}: bind refused: ${text.slice(0, 300)}`));
      }
      onFrame(sock, text);
      if (sock.bound) {
        clearTimeout(timer);
        resolve(sock);
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', (code, reason) => {
      if (!sock.bound) {
        clearTimeout(timer);
        reject(new Error(`${binding.subscription}: closed before its handshake (${code} ${reason.toString()})`));
      } else if (sockets.get(sock.target)?.includes(sock)) stats.closed++;
    });
  });
}

async function bind(target: string, wsUrl: string, bindings: Binding[]): Promise<{ count: number; errors: string[] }> {
  closeAll(target);
  const errors: string[] = [];
  const opened: Sock[] = [];
  let next = 0;
  const worker = async () => {
    while (next < bindings.length) {
      const binding = bindings[next++]!;
      try {
        opened.push(await open(wsUrl, binding, target));
      } catch (err) {
        if (errors.length < MAX_ERRORS) errors.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  sockets.set(target, opened);
  return { count: opened.length, errors };
}

function closeAll(target: string): void {
  const old = sockets.get(target) ?? [];
  sockets.delete(target);
  for (const s of old) s.ws.terminate();
}

function collect(writes: Write[]): ClientStats {
  const measured = sockets.get(target) ?? [];
  for (const sock of measured) {
    for (const [seq, patient] of writes) {
      if (patient === sock.binding.patient && !(sock.seen[seq]! > 0)) stats.missing++;
    }
  }
  // Delivered writes the writer never saw acknowledged (a PUT that timed out but was stored).
  const acknowledged = new Set(writes.map(([seq]) => seq));
  for (const sock of measured) {
    for (let seq = 0; seq < sock.seen.length; seq++) if (sock.seen[seq]! > 0 && !acknowledged.has(seq)) stats.unacknowledged++;
  }
  return { ...stats, latency: latency.toJSON() };
}

function reply(message: FromClient): void {
  process.send!(message);
}

process.on('message', (raw) => {
  const message = raw as ToClient;
  switch (message.op) {
    case 'bind':
      void bind(message.target, message.wsUrl, message.bindings).then(({ count, errors }) => reply({ op: 'bound', id: message.id, count, errors }));
      return;
    case 'start':
      run = message.run;
      target = message.target;
      windowEnd = message.windowEnd;
      stats = freshStats();
      latency = new Histogram();
      for (const s of sockets.get(target) ?? []) s.seen = new Uint8Array(64);
      reply({ op: 'started', id: message.id });
      return;
    case 'progress':
      reply({ op: 'progress', id: message.id, received: stats.received });
      return;
    case 'collect':
      reply({ op: 'collected', id: message.id, stats: collect(message.writes) });
      return;
    case 'close':
      for (const t of [...sockets.keys()]) closeAll(t);
      reply({ op: 'closed', id: message.id });
      process.disconnect();
      return;
  }
});

// The orchestrator went away (finished, or interrupted): nothing is left to report to.
process.on('disconnect', () => process.exit(0));
