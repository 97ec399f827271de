// What a client may send on a notification socket, in either dialect. The spec dialect is text:
//   bind-with-token <token>            (the IG's first diagram)
//   bind-with-token: <token>           (its renewal diagram, and R5's)
//   ... followed optionally by ` events-since=<n>`: replay the subscription's logged events from n.
//   unbind-from-token <token>
// The Medplum dialect is JSON: {"type":"bind-with-token","payload":{"token":…,"eventsSinceNumber"?:n}},
// {"type":"unbind-from-token","payload":{"token":…}}, {"type":"ping"}. Any socket that sends JSON
// speaks Medplum's dialect from then on.

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

function parseJson(text: string): Inbound {
  let msg: { type?: unknown; payload?: { token?: unknown; eventsSinceNumber?: unknown } };
  try {
    msg = JSON.parse(text) as typeof msg;
  } catch {
    return { kind: 'invalid', dialect: 'medplum', reason: 'the message is not valid JSON' };
  }
  if (msg?.type === 'ping') return { kind: 'ping', dialect: 'medplum' };
  if (msg?.type !== 'bind-with-token' && msg?.type !== 'unbind-from-token') {
    return { kind: 'invalid', dialect: 'medplum', reason: 'expected a message of type bind-with-token, unbind-from-token or ping' };
  }
  const token = msg.payload?.token;
  if (typeof token !== 'string' || !TOKEN.test(token)) return { kind: 'invalid', dialect: 'medplum', reason: 'payload.token must be a binding token' };
  if (msg.type === 'unbind-from-token') return { kind: 'unbind', dialect: 'medplum', token };
  const since = msg.payload?.eventsSinceNumber;
  if (since !== undefined && !(Number.isInteger(since) && (since as number) >= 0)) {
    return { kind: 'invalid', dialect: 'medplum', reason: 'payload.eventsSinceNumber must be a non-negative integer' };
  }
  return { kind: 'bind', dialect: 'medplum', token, ...(since !== undefined ? { eventsSince: since as number } : {}) };
}
