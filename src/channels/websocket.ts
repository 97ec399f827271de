import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type { Credential } from '../access/credentials.js';
import { focusOf, withholdUnreadable, type DeliveryAccess, type DeliveryPath } from '../access/delivery-access.js';
import type { Engine, Unsubscribe } from '../engine/engine.js';
import { EVENT_STORE_UNAVAILABLE, isEngineUnavailable } from '../engine/unavailable.js';
import type { Epoch, EventLog, EventRecord } from '../eventlog/index.js';
import { DELIVERY_CHANNEL, type DeliveredEvent, type DeliveryMessage } from '../events/delivery.js';
import { eventsLostCoding } from '../fhir/events-lost.js';
import { outcome } from '../fhir/operation-outcome.js';
import { renderNotification, type NotificationEventInput } from '../fhir/notification.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ActiveSubscription, RegistryChange, SubscriptionRegistry } from '../subscriptions/registry.js';
import type { UrlRewriter } from '../upstream/rewrite.js';
import { AccessGate, type Verdicts } from './access-gate.js';
import { parseFrame, type Dialect } from './frames.js';
import { TimerWheel } from './timer-wheel.js';
import { TokenRejected, type BindingTokens } from './tokens.js';
import { REPLICA } from '../log.js';

export interface WebSocketLimits {
  /** Largest inbound frame, bytes. */
  maxFrameBytes: number;
  /** Outbound bytes a socket may have queued before it is closed as a slow consumer. */
  maxBufferedBytes: number;
  maxBindingsPerSocket: number;
  maxConnections: number;
  /** Seconds without traffic before uWS closes a socket (it pings before that). */
  idleTimeoutSeconds: number;
  /** Bad frames a socket may send before it is closed with 1008. */
  maxBadFrames: number;
}

export interface WebSocketChannelOptions {
  engine: Engine;
  /** Counts for handshakes and heartbeats, replay on bind, and news of lost events. */
  eventLog: EventLog;
  registry: SubscriptionRegistry;
  tokens: BindingTokens;
  metrics: Metrics;
  logger: Logger;
  limits: WebSocketLimits;
  /** Tells the rest of the deployment, every intervalMs, which subscriptions are bound here. */
  presence?: { intervalMs: number; report: (ids: string[]) => Promise<void> };
  /** DELIVERY_AUTHORIZATION=upstream: what each binding's credential may read decides what it is sent. */
  access?: DeliveryAccess | undefined;
}

interface Binding {
  jti: string;
  expiresAt: number;
  /** Highest event number sent on this socket, so replay and live delivery never repeat one. */
  lastSent: number;
  /** Live events that arrived while the log was being replayed, sent after it. */
  pending?: Array<{ event: DeliveredEvent; number: number }>;
  /** The authority of the request that obtained the token (DELIVERY_AUTHORIZATION=upstream). */
  credential?: Credential | undefined;
}

interface SocketState {
  id: number;
  dialect: Dialect;
  bindings: Map<string, Binding>;
  badFrames: number;
  closed: boolean;
}

type Socket = WebSocket<SocketState>;

function newBinding(jti: string): Binding {
  return { jti, expiresAt: 0, lastSent: 0 };
}

const REPLAY_LIMIT = 1000;

/**
 * The WebSocket channel: binding with tokens, handshakes, replay from the event log, live
 * notifications rendered once per subscription and dialect per replica, heartbeats, revocation.
 */
export class WebSocketChannel {
  private readonly bySubscription = new Map<string, Set<Socket>>();
  private readonly sockets = new Set<Socket>();
  /** uWS throws on any access to a closed socket, its user data included: state lives here too. */
  private readonly states = new WeakMap<Socket, SocketState>();
  private readonly wheel = new TimerWheel();
  private unsubscribe: Unsubscribe | undefined;
  private nextId = 1;
  private closing = false;
  private presenceTimer: NodeJS.Timeout | undefined;
  // Known once the gateway listens (the public URL may depend on the port); no socket exists before.
  private publicBaseUrl = '';
  private rewriter!: UrlRewriter;
  private readonly gate: AccessGate | undefined;

  constructor(private readonly opts: WebSocketChannelOptions) {
    this.gate = opts.access && new AccessGate(opts.access.visibility, opts.logger);
  }

  ready(publicBaseUrl: string, rewriter: UrlRewriter): void {
    this.publicBaseUrl = publicBaseUrl;
    this.rewriter = rewriter;
  }

  /** Routes: /ws speaks the spec dialect, /ws/subscriptions-r4 Medplum's. */
  register(app: TemplatedApp): void {
    app.ws<SocketState>('/ws', this.behavior('spec'));
    app.ws<SocketState>('/ws/subscriptions-r4', this.behavior('medplum'));
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.opts.engine.subscribe(DELIVERY_CHANNEL, (message) => this.deliver(message));
    this.opts.registry.onChange((change) => this.onRegistryChange(change));
    this.opts.eventLog.onEpochChange((_previous, next) => this.onEventsLost(next));
    this.opts.metrics.track('fsg_websocket_connections', 'Open notification sockets on this replica', () => this.sockets.size);
    const presence = this.opts.presence;
    if (presence) {
      this.presenceTimer = setInterval(() => {
        if (this.bySubscription.size) presence.report([...this.bySubscription.keys()]).catch((err: unknown) => this.opts.logger.warn({ err }, 'could not report bound subscriptions'));
      }, presence.intervalMs);
      this.presenceTimer.unref();
    }
    this.opts.metrics.track('fsg_websocket_bindings', 'Subscription bindings on this replica', () => [...this.bySubscription.values()].reduce((n, s) => n + s.size, 0));
  }

  /** Ends every socket with 1001 (going away): clients reconnect to another replica. */
  async close(): Promise<void> {
    this.closing = true;
    this.wheel.stop();
    clearInterval(this.presenceTimer);
    for (const ws of [...this.sockets]) this.end(ws, 1001, 'server shutting down');
    if (this.opts.engine.isReady()) await this.unsubscribe?.().catch(() => undefined);
  }

  private behavior(dialect: Dialect): uWS.WebSocketBehavior<SocketState> {
    const { limits } = this.opts;
    return {
      maxPayloadLength: limits.maxFrameBytes,
      idleTimeout: limits.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // Above this uWS drops sends; we notice the drop and close the socket ourselves.
      maxBackpressure: limits.maxBufferedBytes,
      closeOnBackpressureLimit: false,
      upgrade: (res, req, context) => {
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        if (this.closing || this.sockets.size >= limits.maxConnections) {
          this.opts.metrics.websocketRejected.inc({ reason: this.closing ? 'shutting-down' : 'too-many-connections' });
          res
            .writeStatus('503 Service Unavailable')
            .writeHeader('Content-Type', 'application/fhir+json')
            .end(JSON.stringify(outcome('throttled', 'Too many WebSocket connections on this replica; retry later')));
          return;
        }
        res.upgrade<SocketState>({ id: this.nextId++, dialect, bindings: new Map(), badFrames: 0, closed: false }, key, protocol, extensions, context);
      },
      open: (ws) => {
        this.states.set(ws, ws.getUserData());
        this.sockets.add(ws);
      },
      message: (ws, message, isBinary) => {
        const text = isBinary ? '' : Buffer.from(message).toString('utf8');
        void this.receive(ws, text, isBinary).catch((err: unknown) => {
          // The client can retry a bind once the event store is back: say so instead of staying silent.
          if (isEngineUnavailable(err)) {
            if (!this.state(ws).closed) this.sendOutcome(ws, 'transient', EVENT_STORE_UNAVAILABLE);
            return;
          }
          this.opts.logger.error({ err }, 'websocket message handling failed');
        });
      },
      close: (ws) => {
        const state = this.state(ws);
        state.closed = true;
        this.sockets.delete(ws);
        for (const id of state.bindings.keys()) this.unbindLocal(ws, id);
      },
    };
  }

  private async receive(ws: Socket, text: string, isBinary: boolean): Promise<void> {
    const state = this.state(ws);
    const frame = isBinary ? ({ kind: 'invalid', dialect: state.dialect, reason: 'binary frames are not understood; send text' } as const) : parseFrame(text, state.dialect);
    if (frame.dialect === 'medplum') state.dialect = 'medplum';
    switch (frame.kind) {
      case 'ping':
        this.send(ws, '{"type":"pong"}');
        return;
      case 'invalid':
        this.badFrame(ws, frame.reason);
        return;
      case 'unbind': {
        const claims = await this.verify(ws, frame.token);
        if (!claims) return;
        for (const id of claims.subscriptions) {
          if (state.bindings.get(id)?.jti === claims.jti) this.unbindLocal(ws, id);
        }
        return;
      }
      case 'bind':
        await this.bind(ws, frame.token, frame.eventsSince);
    }
  }

  private async bind(ws: Socket, token: string, eventsSince: number | undefined): Promise<void> {
    const state = this.state(ws);
    const claims = await this.verify(ws, token);
    if (!claims || state.closed) return;
    const credential = this.opts.access && (await this.opts.access.credentials.load(claims.jti));
    if (state.closed) return;
    if (this.opts.access && !credential) {
      this.badFrame(ws, 'The binding token carries no delivery credential any more (it expired, or the FHIR server stopped accepting it); request a new one with $get-ws-binding-token', 'login');
      return;
    }
    const fresh = claims.subscriptions.filter((id) => !state.bindings.has(id)).length;
    if (state.bindings.size + fresh > this.opts.limits.maxBindingsPerSocket) {
      this.badFrame(ws, `a socket may bind at most ${this.opts.limits.maxBindingsPerSocket} subscriptions`);
      return;
    }
    for (const id of claims.subscriptions) {
      const sub = this.opts.registry.get(id);
      if (!sub) {
        this.sendOutcome(ws, 'not-found', `Subscription/${id} is not active; it cannot be bound`, id);
        continue;
      }
      const existing = state.bindings.get(id);
      // Binding a fresh token for a bound subscription renews it in place: no gap, no repeat.
      const binding: Binding = existing ?? newBinding(claims.jti);
      binding.jti = claims.jti;
      binding.expiresAt = claims.expiresAt.getTime();
      binding.credential = credential;
      if (!existing) {
        // Until the binding knows where it starts (the position read below), live events queue:
        // sent now they would precede the handshake, and a number past lastSent (still 0) would
        // look like a gap and replay the whole log to a client that asked for no replay.
        binding.pending = [];
        void this.opts.presence?.report([id]).catch(() => undefined);
        state.bindings.set(id, binding);
        let set = this.bySubscription.get(id);
        if (!set) this.bySubscription.set(id, (set = new Set()));
        set.add(ws);
        this.opts.metrics.websocketBinds.inc();
      }
      this.wheel.schedule(`exp:${state.id}:${id}`, binding.expiresAt, () => this.expire(ws, id, binding));
      let position: Awaited<ReturnType<EventLog['position']>>;
      try {
        position = await this.opts.eventLog.position(id);
      } catch (err) {
        // Not bound after all (the event store is away): nothing may queue for it; the client retries.
        if (!existing) this.unbindLocal(ws, id);
        throw err;
      }
      const { count: total, lostBefore } = position;
      if (state.closed) return;
      if (!existing) binding.lastSent = eventsSince === undefined ? total : Math.min(total, Math.max(0, eventsSince - 1));
      this.send(ws, this.render(sub, state.dialect, 'handshake', total, []));
      this.opts.logger.debug({ subscription: id, dialect: state.dialect, replica: REPLICA, socket: state.id, renewed: existing !== undefined, eventsSince, eventsSoFar: total }, 'subscription bound');
      this.scheduleHeartbeat(ws, sub);
      if (!existing && eventsSince !== undefined && eventsSince > total + 1) {
        this.sendOutcome(ws, 'invalid', `events-since ${eventsSince} is beyond the last event of Subscription/${id} (${total}); bound from the next event, ${total + 1}`, id);
        await this.drainPending(ws, sub, binding, true);
        continue;
      }
      if (!existing && eventsSince !== undefined && lostBefore !== undefined && Math.max(1, eventsSince) < lostBefore) this.sendEventsLost(ws, id, lostBefore);
      if (!existing && eventsSince !== undefined) await this.replay(ws, sub, binding, eventsSince);
      else if (!existing) await this.drainPending(ws, sub, binding, true);
    }
  }

  /** Sends logged events from `since` (0: the first kept) before any live one, in maxCount batches. */
  private async replay(ws: Socket, sub: ActiveSubscription, binding: Binding, since: number): Promise<void> {
    // What queued while the bind read its position stays queued: it goes after the replay.
    binding.pending ??= [];
    let read = false;
    try {
      const page = await this.opts.eventLog.read(sub.id, Math.max(1, since), Infinity, REPLAY_LIMIT);
      if (since >= 1 && since <= page.count && (page.firstKept === null || since < page.firstKept)) {
        this.sendOutcome(ws, 'not-found', `Events from ${since} of Subscription/${sub.id} are no longer kept${page.firstKept !== null ? `; replaying from ${page.firstKept}` : ''}`, sub.id, 'warning');
      }
      const events = page.events.map((e) => this.notificationEvent(e));
      if (!(await this.withhold(ws, sub, binding, events, 'replay'))) return;
      this.sendEvents(ws, sub, binding, events);
      read = true;
    } finally {
      // After a failed read, what arrived is sent as it is: reading again at once would spin while Redis is away.
      await this.drainPending(ws, sub, binding, read);
    }
  }

  private notificationEvent(e: EventRecord): NotificationEventInput {
    const resourceJson = e.resource ? this.rewriter.text(JSON.stringify(e.resource)) : undefined;
    return { eventNumber: e.number, timestamp: e.timestamp, focusReference: e.reference, interaction: e.interaction, versionId: e.versionId, resourceJson };
  }

  /** The engine lost its numbering state: every bound subscription may have missed events. */
  private onEventsLost(epoch: Epoch): void {
    for (const [id, sockets] of this.bySubscription) {
      for (const ws of sockets) {
        const binding = this.state(ws).bindings.get(id);
        // Numbering continues above the floor: the jump is not a gap to wait for.
        if (binding) binding.lastSent = Math.max(binding.lastSent, epoch.floor);
        this.sendEventsLost(ws, id, epoch.floor + 1);
      }
    }
  }

  private sendEventsLost(ws: Socket, id: string, lostBefore: number): void {
    if (this.state(ws).closed) return;
    const oo = outcome(
      'incomplete',
      `Events of Subscription/${id} may have been lost (the gateway's event store lost its state); fetch the current state of what you follow from the server. Numbering continues from ${lostBefore}`,
      {
        expression: [`Subscription/${id}`],
        details: { coding: [eventsLostCoding(lostBefore)] },
      },
    );
    this.send(ws, JSON.stringify(oo));
  }

  /** Live events that arrived during the replay, checked and sent after it, in order. */
  /**
   * Sends the live messages that queued during a replay, lowest number first. With fillGaps, a gap
   * still open (a number published after the log was read) sends the log from it again.
   */
  private async drainPending(ws: Socket, sub: ActiveSubscription, binding: Binding, fillGaps = false): Promise<void> {
    let refill: Array<{ event: DeliveredEvent; number: number }> | undefined;
    try {
      while (binding.pending?.length && this.state(ws).bindings.get(sub.id) === binding) {
        let batch = binding.pending.splice(0).sort((a, b) => a.number - b.number);
        let expected = binding.lastSent;
        const gap = batch.findIndex((p) => p.number > expected + 1 || ((expected = Math.max(expected, p.number)), false));
        if (fillGaps && gap >= 0) {
          refill = [...batch.slice(gap), ...binding.pending.splice(0)];
          batch = batch.slice(0, gap);
        }
        const events = batch.map((p) => this.eventInput(p.event, p.number));
        if (!(await this.withhold(ws, sub, binding, events, 'live'))) return;
        batch.forEach((p, i) => this.sendLive(ws, sub, binding, p.event, p.number, undefined, undefined, events[i]!.withheld === true));
        if (refill) break;
      }
    } finally {
      // What arrived while the last batch was being checked goes with the refill.
      if (refill && binding.pending?.length) refill.push(...binding.pending.splice(0));
      binding.pending = undefined;
    }
    if (refill && !this.state(ws).closed && this.state(ws).bindings.get(sub.id) === binding) this.fillGap(ws, sub, binding, ...refill);
  }

  /**
   * Marks what the binding may not read (DELIVERY_AUTHORIZATION=upstream). False when the upstream
   * no longer accepts its credential: the binding has then been ended.
   */
  private async withhold(ws: Socket, sub: ActiveSubscription, binding: Binding, events: NotificationEventInput[], path: DeliveryPath): Promise<boolean> {
    const access = this.opts.access;
    if (!access || !binding.credential) return true;
    const { unauthorized } = await withholdUnreadable(access, binding.credential, sub.content, events, path);
    if (unauthorized) this.credentialRefused(ws, sub.id, binding);
    return !unauthorized;
  }

  private credentialRefused(ws: Socket, id: string, binding: Binding): void {
    if (this.state(ws).bindings.get(id) !== binding) return;
    this.sendOutcome(
      ws,
      'login',
      `The FHIR server no longer accepts the credential Subscription/${id} was bound with; its binding has ended. Request a new token with $get-ws-binding-token and bind it (with events-since to catch up)`,
      id,
    );
    this.unbindLocal(ws, id);
    void this.opts.access?.credentials.forget(binding.jti).catch((err: unknown) => this.opts.logger.warn({ err }, 'could not forget a refused delivery credential'));
  }

  private eventInput(event: DeliveredEvent, number: number, resourceJson?: string): NotificationEventInput {
    const json = resourceJson ?? (event.resource ? this.rewriter.text(JSON.stringify(event.resource)) : undefined);
    return { eventNumber: number, timestamp: event.timestamp, focusReference: event.reference, interaction: event.interaction, versionId: event.versionId, resourceJson: json };
  }

  private deliver(message: string): void {
    const msg = JSON.parse(message) as DeliveryMessage;
    const json: { text?: string | undefined } = {};
    for (const [id, number] of msg.matches) {
      this.opts.eventLog.seen(number);
      const sockets = this.bySubscription.get(id);
      if (!sockets?.size) continue;
      const sub = this.opts.registry.get(id);
      if (!sub) {
        this.opts.logger.debug({ subscription: id, eventNumber: number, event: msg.event.eventId }, 'notification dropped: the subscription is no longer active on this replica');
        continue;
      }
      if (!this.gate) {
        this.fanOut(id, msg, number, undefined, json);
        continue;
      }
      // One access check per distinct credential (not per socket) before anything is rendered.
      const refs = sub.content === 'empty' ? [] : [focusOf(msg.event)];
      this.gate.run(id, this.credentialsOf(sockets, id), refs, (verdicts) => this.fanOut(id, msg, number, verdicts, json));
    }
  }

  private fillGap(ws: Socket, sub: ActiveSubscription, binding: Binding, ...live: Array<{ event: DeliveredEvent; number: number }>): void {
    // replay() sets binding.pending before its first await, so `live` and later messages queue behind it.
    const replaying = this.replay(ws, sub, binding, binding.lastSent + 1);
    binding.pending?.push(...live);
    replaying.catch((err: unknown) => this.opts.logger.warn({ err, subscription: sub.id }, 'could not read the event log to fill a gap; sending what arrived'));
  }

  private *credentialsOf(sockets: Iterable<Socket>, id: string): Generator<Credential> {
    for (const ws of sockets) {
      const credential = this.state(ws).bindings.get(id)?.credential;
      if (credential) yield credential;
    }
  }

  /** Sends one event to the subscription's local sockets; with verdicts, what each binding may see. */
  private fanOut(id: string, msg: DeliveryMessage, number: number, verdicts: Verdicts | undefined, json: { text?: string | undefined }): void {
    const { event } = msg;
    const sockets = this.bySubscription.get(id);
    const sub = this.opts.registry.get(id);
    if (!sockets?.size || !sub) return;
    // Serialised once per event, rendered once per subscription, dialect and variant (the empty
    // variant only when some binding needs it), sent to every socket.
    json.text ??= event.resource ? this.rewriter.text(JSON.stringify(event.resource)) : undefined;
    const rendered = new Map<string, string>();
    // Ending a binding below deletes from the set; a Set iterator stays valid through deletes.
    for (const ws of sockets) {
      const binding = this.state(ws).bindings.get(id);
      if (!binding) continue;
      if (binding.pending) {
        binding.pending.push({ event, number });
        continue;
      }
      if (number > binding.lastSent + 1) {
        // A gap: the numbers before this one went out from another replica and are still on their
        // way, or their message was lost (a subscriber reconnecting). The log has them: send from
        // there first, then this one, so a client sees every number once and in order.
        this.fillGap(ws, sub, binding, { event, number });
        continue;
      }
      let withheld = false;
      if (verdicts) {
        const verdict = binding.credential && verdicts.get(binding.credential.id);
        if (verdict?.unauthorized) {
          this.credentialRefused(ws, id, binding);
          continue;
        }
        // A binding renewed with another credential while the check ran is not in the verdicts: withheld.
        withheld = !verdict?.visible.has(event.reference);
        if (withheld && number > binding.lastSent) this.opts.metrics.notificationsWithheld.inc({ path: 'live' });
      }
      const before = binding.lastSent;
      this.sendLive(ws, sub, binding, event, number, rendered, json.text, withheld);
      if (binding.lastSent > before && msg.receivedAt !== undefined) this.opts.metrics.observeEventToFrame(msg.receivedAt);
    }
  }

  private sendLive(
    ws: Socket,
    sub: ActiveSubscription,
    binding: Binding,
    event: DeliveredEvent,
    number: number,
    cache: Map<string, string> | undefined,
    resourceJson?: string,
    withheld = false,
  ): void {
    // Gaps were filled from the log before we got here (fanOut), so a number is the next one or a
    // repeat (a republished delivery, or one the replay already sent).
    if (number > binding.lastSent) this.emitLive(ws, sub, binding, event, number, cache, resourceJson, withheld);
    else {
      this.opts.logger.debug({ subscription: sub.id, eventNumber: number, socket: this.state(ws).id }, 'notification not sent again: this binding already had it (from a replay)');
    }
  }

  private emitLive(
    ws: Socket,
    sub: ActiveSubscription,
    binding: Binding,
    event: DeliveredEvent,
    number: number,
    cache: Map<string, string> | undefined,
    resourceJson?: string,
    withheld = false,
  ): void {
    const state = this.state(ws);
    const dialect = state.dialect;
    const variant = withheld ? `${dialect}:withheld` : dialect;
    let text = cache?.get(variant);
    if (!text) {
      const input = this.eventInput(event, number, resourceJson);
      if (withheld) input.withheld = true;
      text = this.render(sub, dialect, 'event-notification', number, [input]);
      cache?.set(variant, text);
    }
    binding.lastSent = Math.max(binding.lastSent, number);
    this.send(ws, text);
    this.opts.metrics.notificationsSent.inc();
    const fields = { subscription: sub.id, eventNumber: number, event: event.eventId, focus: event.reference, withheld, socket: state.id, bytes: text.length };
    this.opts.logger.debug(fields, state.closed ? 'notification dropped: the socket closed (a slow consumer is closed; it replays on reconnect)' : 'notification sent');
  }

  private sendEvents(ws: Socket, sub: ActiveSubscription, binding: Binding, events: NotificationEventInput[]): void {
    const fresh = events.filter((e) => e.eventNumber > binding.lastSent);
    // Medplum's client reads one event per bundle; the spec dialect honours maxCount.
    const size = this.state(ws).dialect === 'medplum' ? 1 : Math.max(1, sub.maxCount ?? 1);
    for (let i = 0; i < fresh.length; i += size) {
      const batch = fresh.slice(i, i + size);
      const last = batch[batch.length - 1]!.eventNumber;
      this.send(ws, this.render(sub, this.state(ws).dialect, 'event-notification', last, batch));
      binding.lastSent = last;
      this.opts.metrics.notificationsSent.inc(batch.length);
      this.opts.logger.debug({ subscription: sub.id, eventNumbers: `${batch[0]!.eventNumber}-${last}`, socket: this.state(ws).id }, 'replayed notification sent');
    }
  }

  private render(sub: ActiveSubscription, dialect: Dialect, type: 'handshake' | 'heartbeat' | 'event-notification', eventsSince: number, events: NotificationEventInput[]): string {
    return renderNotification({
      version: sub.notificationVersion,
      dialect,
      type,
      subscriptionId: sub.id,
      publicBaseUrl: this.publicBaseUrl,
      topic: sub.criteria ? undefined : sub.topic.split('|')[0],
      // The IG's handshake (and the conformance checks built on it) says `requested`: the binding
      // is being set up. Medplum's server says `active`, and its client does not care.
      status: type === 'handshake' && dialect === 'spec' ? 'requested' : 'active',
      content: sub.content,
      eventsSinceSubscriptionStart: eventsSince,
      events,
    });
  }

  private scheduleHeartbeat(ws: Socket, sub: ActiveSubscription): void {
    const state = this.state(ws);
    if (!sub.heartbeatPeriod) return;
    const key = `hb:${state.id}:${sub.id}`;
    const beat = () => {
      if (state.closed || !state.bindings.has(sub.id)) return;
      const current = this.opts.registry.get(sub.id);
      if (!current) return;
      void this.opts.eventLog.position(sub.id).then(
        ({ count: total }) => {
          if (state.closed || !state.bindings.has(sub.id)) return;
          this.send(ws, this.render(current, state.dialect, 'heartbeat', total, []));
          this.opts.metrics.heartbeatsSent.inc();
        },
        () => undefined,
      );
      this.wheel.schedule(key, Date.now() + current.heartbeatPeriod! * 1000, beat);
    };
    this.wheel.schedule(key, Date.now() + sub.heartbeatPeriod * 1000, beat);
  }

  private expire(ws: Socket, id: string, binding: Binding): void {
    const state = this.state(ws);
    if (state.closed || state.bindings.get(id) !== binding || binding.expiresAt > Date.now()) return;
    this.sendOutcome(ws, 'expired', `The binding token for Subscription/${id} has expired; bind a fresh token from $get-ws-binding-token`, id);
    this.unbindLocal(ws, id);
  }

  private onRegistryChange(change: RegistryChange): void {
    if (change.op !== 'remove') return;
    const sockets = this.bySubscription.get(change.id);
    if (!sockets) return;
    for (const ws of [...sockets]) {
      this.sendOutcome(ws, 'not-found', `Subscription/${change.id} is no longer active (${change.reason}); its binding has ended`, change.id);
      this.unbindLocal(ws, change.id);
    }
  }

  private unbindLocal(ws: Socket, id: string): void {
    const state = this.state(ws);
    state.bindings.delete(id);
    this.wheel.cancel(`hb:${state.id}:${id}`);
    this.wheel.cancel(`exp:${state.id}:${id}`);
    const set = this.bySubscription.get(id);
    set?.delete(ws);
    if (set?.size === 0) this.bySubscription.delete(id);
  }

  private async verify(ws: Socket, token: string) {
    try {
      return await this.opts.tokens.verify(token);
    } catch (err) {
      if (!(err instanceof TokenRejected)) throw err;
      this.opts.metrics.websocketRejected.inc({ reason: `token-${err.reason}` });
      this.badFrame(ws, `The binding token was rejected (${err.reason}); request a new one with $get-ws-binding-token`, err.reason === 'expired' ? 'expired' : 'security');
      return undefined;
    }
  }

  private badFrame(ws: Socket, reason: string, code: 'invalid' | 'security' | 'login' | 'expired' = 'invalid'): void {
    const state = this.state(ws);
    if (state.closed) return;
    this.sendOutcome(ws, code, reason);
    if (++state.badFrames >= this.opts.limits.maxBadFrames) this.end(ws, 1008, 'too many invalid messages');
  }

  private sendOutcome(ws: Socket, code: Parameters<typeof outcome>[0], diagnostics: string, subscriptionId?: string, severity: 'error' | 'warning' = 'error'): void {
    const oo = outcome(code, diagnostics, { severity, expression: subscriptionId ? [`Subscription/${subscriptionId}`] : undefined });
    this.send(ws, JSON.stringify(oo));
  }

  private send(ws: Socket, text: string): void {
    const state = this.state(ws);
    if (state.closed) return;
    let status = 1;
    ws.cork(() => {
      status = ws.send(text, false, false);
    });
    // 2: uWS dropped the message because the socket's queue is past maxBackpressure. A client that
    // reads this slowly is closed (it reconnects and replays with events-since) so it never holds
    // back others or grows our memory.
    if (status === 2) {
      this.opts.metrics.slowConsumers.inc();
      this.end(ws, 1013, 'slow consumer: reconnect and bind with events-since');
    }
  }

  private state(ws: Socket): SocketState {
    return this.states.get(ws)!;
  }

  private end(ws: Socket, code: number, reason: string): void {
    const state = this.state(ws);
    if (state.closed) return;
    state.closed = true;
    ws.end(code, reason);
  }
}
