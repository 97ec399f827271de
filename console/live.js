// One WebSocket to the gateway, bound with binding tokens from $get-ws-binding-token, and the
// bookkeeping that turns frames into a timeline: event numbers, and a gap wherever numbers jump.
import { readFrame } from './shapes.js';

const param = (parameters, name) => {
  const p = (parameters?.parameter ?? []).find((x) => x.name === name);
  return p && Object.entries(p).find(([k]) => k.startsWith('value'))?.[1];
};

export class LiveChannel {
  constructor(onChange) {
    this.onChange = onChange;
    this.entries = [];
    this.ws = undefined;
    this.url = undefined;
    this.state = 'closed';
    this.subscription = undefined;
    // The next event number expected on the bound subscription; undefined until the handshake.
    this.expected = undefined;
    this.replayFrom = undefined;
    this.seq = 0;
  }

  push(entry) {
    this.entries = [{ seq: ++this.seq, at: new Date(), ...entry }, ...this.entries].slice(0, 500);
    this.onChange();
  }

  async bind(api, subscriptionId, eventsSince) {
    const parameters = await api.call('POST', `Subscription/${encodeURIComponent(subscriptionId)}/$get-ws-binding-token`, { resourceType: 'Parameters', parameter: [] });
    const token = param(parameters, 'token');
    const url = param(parameters, 'websocket-url');
    if (typeof token !== 'string' || typeof url !== 'string') throw new Error('$get-ws-binding-token did not return a token and websocket-url');
    // A bind of a subscription the socket already has renews it in place (the gateway ignores
    // events-since then), so a replay starts on a fresh socket, as a reconnecting client would.
    if (this.ws === undefined || this.url !== url || this.ws.readyState > WebSocket.OPEN || eventsSince !== undefined) await this.open(url);
    if (this.subscription !== undefined && this.subscription !== subscriptionId && this.token !== undefined) this.ws.send(`unbind-from-token ${this.token}`);
    this.subscription = subscriptionId;
    this.token = token;
    this.expected = undefined;
    this.replayFrom = eventsSince;
    const frame = `bind-with-token ${token}${eventsSince === undefined ? '' : ` events-since=${eventsSince}`}`;
    this.ws.send(frame);
    // The token is a credential: the timeline shows that a bind was sent, never the token itself.
    this.push({ kind: 'sent', summary: `bind Subscription/${subscriptionId}${eventsSince === undefined ? '' : `, replaying from event ${eventsSince}`}` });
  }

  open(url) {
    this.close();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      this.ws = ws;
      this.url = url;
      this.state = 'connecting';
      this.onChange();
      ws.onopen = () => {
        this.state = 'open';
        this.push({ kind: 'connected', summary: `connected to ${url}` });
        resolve();
      };
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
      ws.onclose = (e) => {
        if (this.ws !== ws) return;
        this.state = 'closed';
        this.push({ kind: 'closed', summary: `socket closed (${e.code}${e.reason ? `: ${e.reason}` : ''})` });
      };
      ws.onmessage = (e) => this.receive(typeof e.data === 'string' ? e.data : '[binary frame]');
    });
  }

  close() {
    const ws = this.ws;
    this.ws = undefined;
    this.subscription = undefined;
    this.token = undefined;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'console closed the socket');
    this.state = 'closed';
  }

  receive(text) {
    const frame = readFrame(text);
    const s = frame.status;
    if (frame.kind === 'handshake') {
      this.expected = this.replayFrom ?? (s.total ?? 0) + 1;
    } else if (frame.kind === 'heartbeat' && s.total !== undefined && this.expected !== undefined && s.total >= this.expected) {
      this.gap(this.expected, s.total);
      this.expected = s.total + 1;
    } else if (frame.kind === 'event-notification') {
      const numbers = s.events.map((e) => e.number).filter((n) => n !== undefined);
      if (numbers.length > 0 && this.expected !== undefined && numbers[0] > this.expected) this.gap(this.expected, numbers[0] - 1);
      if (numbers.length > 0) this.expected = Math.max(this.expected ?? 0, numbers[numbers.length - 1] + 1);
    }
    this.push({ kind: frame.kind, frame, text });
  }

  gap(from, to) {
    this.push({ kind: 'gap', from, to, summary: from === to ? `event ${from} was not received` : `events ${from}–${to} were not received` });
  }
}
