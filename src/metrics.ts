import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per gateway instance, so several gateways in one test process do not collide. */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'fsg_http_requests_total',
    help: 'HTTP requests answered, by route class, method and status (499: client went away first)',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'fsg_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by route class',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'fsg_upstream_errors_total',
    help: 'Failures talking to the upstream FHIR server, by kind (unreachable, timeout, body-*)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly eventsReceived = new Counter({
    name: 'fsg_events_received_total',
    help: 'Resource-change events received on the events channel',
    registers: [this.registry],
  });

  readonly eventsRejected = new Counter({
    name: 'fsg_events_rejected_total',
    help: 'Events dropped as invalid, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventsDuplicate = new Counter({
    name: 'fsg_events_duplicate_total',
    help: 'Events dropped because this or another replica already claimed the same event id',
    registers: [this.registry],
  });

  readonly eventsProcessed = new Counter({
    name: 'fsg_events_processed_total',
    help: 'Events this replica claimed and processed, by outcome (matched, unmatched, failed, gone)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly eventLogStateLost = new Counter({
    name: 'fsg_eventlog_state_lost_total',
    help: 'Times this replica found the engine had lost its numbering state (a new epoch began; events may have been lost)',
    registers: [this.registry],
  });

  readonly notificationsNumbered = new Counter({
    name: 'fsg_notifications_numbered_total',
    help: 'Event numbers assigned (one per matched subscription per event)',
    registers: [this.registry],
  });

  readonly eventDuration = new Histogram({
    name: 'fsg_event_processing_seconds',
    help: 'From claim to publication of one event (fetching, matching, numbering)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly undecidable = new Counter({
    name: 'fsg_match_undecidable_total',
    help: 'Triggers or filters memory could not decide (filters are then asked of the upstream)',
    labelNames: ['what'] as const,
    registers: [this.registry],
  });

  readonly websocketBinds = new Counter({
    name: 'fsg_websocket_binds_total',
    help: 'Subscriptions bound to a socket',
    registers: [this.registry],
  });

  readonly websocketRejected = new Counter({
    name: 'fsg_websocket_rejected_total',
    help: 'Connections refused and binding tokens rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly notificationsSent = new Counter({
    name: 'fsg_notifications_sent_total',
    help: 'Event notifications sent on sockets of this replica',
    registers: [this.registry],
  });

  readonly heartbeatsSent = new Counter({
    name: 'fsg_heartbeats_sent_total',
    help: 'Heartbeat notifications sent on sockets of this replica',
    registers: [this.registry],
  });

  readonly slowConsumers = new Counter({
    name: 'fsg_websocket_slow_consumers_total',
    help: 'Sockets closed because they did not read their notifications fast enough',
    registers: [this.registry],
  });

  // The durable input (EVENTS_STREAM) and the catch-up from the upstream's history.
  readonly proxyEventsUnstored = new Counter({
    name: 'fsg_proxy_events_unstored_total',
    help: 'Events of proxied writes that could not be added to the events stream within the retry budget (the catch-up may still find them)',
    registers: [this.registry],
  });

  readonly streamEntries = new Counter({
    name: 'fsg_stream_entries_total',
    help: 'Events stream entries handled, by how: read (new), reclaimed (from a consumer that stopped), acked',
    labelNames: ['how'] as const,
    registers: [this.registry],
  });

  readonly catchupEvents = new Counter({
    name: 'fsg_catchup_events_total',
    help: "Changes read from the upstream's _history by the catch-up, fed to the pipeline (most are duplicates of events already reported)",
    registers: [this.registry],
  });

  readonly catchupRounds = new Counter({
    name: 'fsg_catchup_rounds_total',
    help: 'Catch-up rounds this replica ran, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly deliveryAuthChecks = new Counter({
    name: 'fsg_delivery_auth_checks_total',
    help: 'Answers to "may this credential read this resource version" (DELIVERY_AUTHORIZATION=upstream), by result: visible, hidden, unauthorized (401), failed (upstream error or timeout: withheld)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly deliveryAuthRequests = new Counter({
    name: 'fsg_delivery_auth_upstream_requests_total',
    help: 'Upstream requests made to check delivery access (one may answer for several resources)',
    registers: [this.registry],
  });

  readonly deliveryAuthCacheHits = new Counter({
    name: 'fsg_delivery_auth_cache_hits_total',
    help: 'Delivery access questions answered from the cache',
    registers: [this.registry],
  });

  readonly notificationsWithheld = new Counter({
    name: 'fsg_notifications_withheld_total',
    help: 'Notification events sent as empty because the binding may not read the resource',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });

  readonly eventToFrame = new Histogram({
    name: 'fsg_event_to_frame_seconds',
    help: 'From the moment a replica received an event to its notification frame being handed to a socket (live deliveries; across replicas includes clock skew)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** `receivedAt`: epoch ms from the delivery message; a negative span (clock skew) counts as 0. */
  observeEventToFrame(receivedAt: number): void {
    this.eventToFrame.observe(Math.max(0, Date.now() - receivedAt) / 1000);
  }

  /** A gauge read at scrape time, for sizes the gateway already keeps. */
  track(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
