// The baseline of the fan-out benchmark: the least a uWebSockets.js server must do to speak the
// gateway's wire protocol, so that the gateway's own cost is what the benchmark shows.
//
// - `POST /bench/subscriptions {"patients": [...]}` registers one subscription per entry (in memory)
//   and answers `{"subscriptions": [{"id", "token"}]}`: the bench's stand-in for Subscription create
//   plus `$get-ws-binding-token`.
// - `PUT /fhir/Patient/<id>` is forwarded to the same upstream the gateway fronts; on 2xx the stored
//   resource (the upstream's answer) is fanned out to every subscription following that patient.
// - With `--redis` and `--channel`, resource-change events published there (with their resource) are
//   fanned out the same way, as the gateway takes them.
// - `/ws`: `bind-with-token <token>` (or `bind-with-token: <token>`) answers the spec-dialect R4
//   handshake; every notification is the R4 backport full-resource event-notification bundle, the
//   gateway's own shape, byte for byte the same size. Event numbers count per subscription from 1.
//
// Each notification is rendered once per event with the gateway's pure renderer and then spliced per
// subscription (id, number, bundle and status ids), the way a server built for fan-out would.
// Run by ws-load.ts: node --import tsx bench/baseline-server.ts --upstream <url> [--redis <url> --channel <name>]
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { request } from 'undici';
import uWS, { type HttpResponse, type WebSocket } from 'uWebSockets.js';
import { renderNotification } from '../src/fhir/notification.js';

const TOPIC = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/patient-record-change';
const MAX_BACKPRESSURE = 4 * 1024 * 1024;

const { values: args } = parseArgs({ options: { upstream: { type: 'string' }, redis: { type: 'string' }, channel: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!args.upstream) throw new Error('--upstream <FHIR base URL> is required');
const upstream = args.upstream.replace(/\/+$/, '');

interface Sub {
  id: string;
  patient: string;
  count: number;
  sockets: Set<WebSocket<SocketData>>;
}
interface SocketData {
  subs: Set<Sub>;
}

const byToken = new Map<string, Sub>();
const byPatient = new Map<string, Sub[]>();
let publicBase = '';

// Placeholders rendered into the per-event template, then replaced per frame.
const SLOT = { sub: 'bbbbbbbb-0000-4000-8000-00000000000a', number: 987654321, bundle: 'bbbbbbbb-0000-4000-8000-00000000000b', status: 'bbbbbbbb-0000-4000-8000-00000000000c' };
const SLOT_PATTERN = new RegExp(`(${SLOT.sub}|"${SLOT.number}"|${SLOT.bundle}|${SLOT.status})`);

// Literal pieces (sub, number, bundle, status) or text between them.
type Piece = string;

function template(resourceJson: string, patient: string, versionId: string | undefined, timestamp: string): Piece[] {
  const text = renderNotification({
    version: 'R4',
    dialect: 'spec',
    type: 'event-notification',
    subscriptionId: SLOT.sub,
    publicBaseUrl: publicBase,
    topic: TOPIC,
    status: 'active',
    content: 'full-resource',
    eventsSinceSubscriptionStart: SLOT.number,
    events: [{ eventNumber: SLOT.number, timestamp, focusReference: `Patient/${patient}`, interaction: 'update', versionId, resourceJson }],
    bundleId: SLOT.bundle,
    statusId: SLOT.status,
    timestamp,
  });
  return text.split(SLOT_PATTERN).map((part, i) => {
    if (i % 2 === 0) return part;
    if (part === SLOT.sub) return 'sub';
    if (part === SLOT.bundle) return 'bundle';
    if (part === SLOT.status) return 'status';
    return 'number';
  });
}

function fill(pieces: Piece[], sub: Sub, number: number): string {
  let out = '';
  for (const piece of pieces) {
    if (piece === 'sub') out += sub.id;
    else if (piece === 'number') out += `"${number}"`;
    else if (piece === 'bundle' || piece === 'status') out += randomUUID();
    else out += piece;
  }
  return out;
}

function fanOut(resourceJson: string, resource: { id?: unknown; meta?: { versionId?: unknown; lastUpdated?: unknown } }): void {
  const patient = typeof resource.id === 'string' ? resource.id : '';
  const subs = byPatient.get(patient);
  if (!subs) return;
  const versionId = typeof resource.meta?.versionId === 'string' ? resource.meta.versionId : undefined;
  const timestamp = typeof resource.meta?.lastUpdated === 'string' ? resource.meta.lastUpdated : new Date().toISOString();
  const pieces = template(resourceJson, patient, versionId, timestamp);
  for (const sub of subs) {
    const number = ++sub.count;
    if (sub.sockets.size === 0) continue;
    const text = fill(pieces, sub, number);
    for (const ws of sub.sockets) send(ws, text);
  }
}

function send(ws: WebSocket<SocketData>, text: string): void {
  let status = 1;
  ws.cork(() => {
    status = ws.send(text, false, false);
  });
  if (status === 2) ws.end(1013, 'slow consumer');
}

function handshake(sub: Sub): string {
  return renderNotification({
    version: 'R4',
    dialect: 'spec',
    type: 'handshake',
    subscriptionId: sub.id,
    publicBaseUrl: publicBase,
    topic: TOPIC,
    status: 'requested',
    content: 'full-resource',
    eventsSinceSubscriptionStart: sub.count,
    events: [],
  });
}

function outcome(diagnostics: string): string {
  return JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics }] });
}

function readBody(res: HttpResponse, onBody: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(Buffer.concat(chunks));
  });
}

function answer(res: HttpResponse, state: { aborted: boolean }, status: number, body: string): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(String(status)).writeHeader('content-type', 'application/fhir+json').end(body);
  });
}

const app = uWS.App();

app.post('/bench/subscriptions', (res) => {
  const state = { aborted: false };
  res.onAborted(() => (state.aborted = true));
  readBody(res, (body) => {
    let patients: unknown;
    try {
      patients = (JSON.parse(body.toString()) as { patients?: unknown }).patients;
    } catch {
      patients = undefined;
    }
    if (!Array.isArray(patients) || !patients.every((p): p is string => typeof p === 'string')) return answer(res, state, 400, outcome('body must be {"patients": [string]}'));
    const subscriptions = patients.map((patient) => {
      const sub: Sub = { id: randomUUID(), patient, count: 0, sockets: new Set() };
      const token = randomBytes(24).toString('base64url');
      byToken.set(token, sub);
      const list = byPatient.get(patient) ?? [];
      list.push(sub);
      byPatient.set(patient, list);
      return { id: sub.id, token };
    });
    answer(res, state, 200, JSON.stringify({ subscriptions }));
  });
});

app.put('/fhir/Patient/:id', (res, req) => {
  const id = req.getParameter(0) ?? '';
  const contentType = req.getHeader('content-type') || 'application/fhir+json';
  const state = { aborted: false };
  res.onAborted(() => (state.aborted = true));
  readBody(res, (body) => {
    void (async () => {
      try {
        const upstreamRes = await request(`${upstream}/Patient/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': contentType, accept: 'application/fhir+json' }, body });
        const text = await upstreamRes.body.text();
        answer(res, state, upstreamRes.statusCode, text);
        if (upstreamRes.statusCode >= 200 && upstreamRes.statusCode < 300) fanOut(text, JSON.parse(text) as { id?: unknown });
      } catch (err) {
        answer(res, state, 502, outcome(`upstream: ${String(err)}`));
      }
    })();
  });
});

app.ws<SocketData>('/ws', {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: MAX_BACKPRESSURE,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  upgrade: (res, req, context) => {
    res.upgrade({ subs: new Set() }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  },
  message: (ws, message) => {
    const text = Buffer.from(message).toString();
    const m = /^bind-with-token:? (\S+)$/.exec(text.trim());
    const sub = m ? byToken.get(m[1]!) : undefined;
    if (!sub) {
      ws.send(outcome(m ? 'unknown binding token' : 'expected bind-with-token <token>'), false, false);
      return;
    }
    ws.getUserData().subs.add(sub);
    sub.sockets.add(ws);
    ws.send(handshake(sub), false, false);
  },
  close: (ws) => {
    for (const sub of ws.getUserData().subs) sub.sockets.delete(ws);
  },
});

if (args.redis && args.channel) {
  const redis = new Redis(args.redis);
  redis.on('error', (err) => console.error(JSON.stringify({ msg: 'redis error', err: String(err) })));
  await redis.subscribe(args.channel);
  redis.on('message', (_channel, message) => {
    let event: { resource?: { id?: unknown } };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    // Serialised once per event, as the gateway does with a resource that came in the event.
    if (event.resource && typeof event.resource === 'object') fanOut(JSON.stringify(event.resource), event.resource);
  });
}

app.listen('127.0.0.1', Number(args.port), (socket) => {
  if (!socket) {
    console.error(JSON.stringify({ msg: 'baseline could not listen' }));
    process.exit(1);
  }
  const port = uWS.us_socket_local_port(socket);
  publicBase = `http://127.0.0.1:${port}/fhir`;
  console.log(JSON.stringify({ msg: 'baseline listening', port }));
});

process.on('SIGTERM', () => process.exit(0));
