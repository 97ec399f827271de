// What a client may send on a notification socket, in either dialect. The spec dialect is text:
//   bind-with-token <token>            (the IG's first diagram)
//   bind-with-token: <token>           (its renewal diagram, and R5's)
//   ... followed optionally by ` events-since=<n>`: replay the subscription's logged events from n.
//   unbind-from-token <token>
// The Medplum dialect is JSON: {"type":"bind-with-token","payload":{"token":…,"eventsSinceNumber"?:n}},
// {"type":"unbind-from-token","payload":{"token":…}}, {"type":"ping"}. Any socket that sends JSON
// speaks Medplum's dialect from then on.

import { parseBoundedJson } from '../fhir/bounded-json.js';

export type Dialect = 'spec' | 'medplum';

export type Inbound =
  | { kind: 'bind'; dialect: Dialect; token: string; eventsSince?: number }
  | { kind: 'unbind'; dialect: Dialect; token: string }
  | { kind: 'ping'; dialect: 'medplum' }
  | { kind: 'invalid'; dialect: Dialect; reason: string };

const TOKEN = /^[A-Za-z0-9\-_.=+/~]{1,8192}$/;

export function parseFrame(text: string, current: Dialect): Inbound {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseJson(trimmed);
  const m = /^(bind-with-token|unbind-from-token):?\s+(\S+)(?:\s+events-since=(\d{1,15}))?$/.exec(trimmed);
  if (!m) return { kind: 'invalid', dialect: current, reason: 'expected "bind-with-token <token>" or "unbind-from-token <token>"' };
  const token = m[2]!;
  if (!TOKEN.test(token)) return { kind: 'invalid', dialect: current, reason: 'the token is not well formed' };
  if (m[1] === 'unbind-from-token') return { kind: 'unbind', dialect: current, token };
  return { kind: 'bind', dialect: current, token, ...(m[3] !== undefined ? { eventsSince: Number(m[3]) } : {}) };
}

// A frame is a few small members; the byte size is uWS's maxPayloadLength (WS_MAX_FRAME_BYTES).
const FRAME_BOUNDS = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 8 };

function parseJson(text: string): Inbound {
  const parsed = parseBoundedJson(text, FRAME_BOUNDS);
  if (!parsed.ok) return { kind: 'invalid', dialect: 'medplum', reason: `the message is ${parsed.reason === 'not-json' ? 'not valid JSON' : parsed.detail}` };
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return { kind: 'invalid', dialect: 'medplum', reason: 'the message must be a JSON object' };
  }
  const msg = parsed.value as { type?: unknown; payload?: unknown };
  if (msg.type === 'ping') return { kind: 'ping', dialect: 'medplum' };
  if (msg?.type !== 'bind-with-token' && msg?.type !== 'unbind-from-token') {
    return { kind: 'invalid', dialect: 'medplum', reason: 'expected a message of type bind-with-token, unbind-from-token or ping' };
  }
  const payload = (typeof msg.payload === 'object' && msg.payload !== null ? msg.payload : {}) as { token?: unknown; eventsSinceNumber?: unknown };
  const token = payload.token;
  if (typeof token !== 'string' || !TOKEN.test(token)) return { kind: 'invalid', dialect: 'medplum', reason: 'payload.token must be a binding token' };
  if (msg.type === 'unbind-from-token') return { kind: 'unbind', dialect: 'medplum', token };
  const since = payload.eventsSinceNumber;
  if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
    return { kind: 'invalid', dialect: 'medplum', reason: 'payload.eventsSinceNumber must be a non-negative integer' };
  }
  return { kind: 'bind', dialect: 'medplum', token, ...(since !== undefined ? { eventsSince: since as number } : {}) };
}
