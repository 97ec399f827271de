// One info line per interval (a minute by default) that says what the replica did, so a person
// reading the logs sees the gateway is alive and busy without turning on debug. The numbers come
// from the metrics the replica already keeps; nothing is counted twice.
import { REPLICA, type Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** [log field, metric, labels a sample must have] */
const COUNTERS: ReadonlyArray<[string, string, Record<string, string>?]> = [
  ['eventsReceived', 'fsg_events_received_total'],
  ['eventsMatched', 'fsg_events_processed_total', { outcome: 'matched' }],
  ['eventsRejected', 'fsg_events_rejected_total'],
  ['notificationsSent', 'fsg_notifications_sent_total'],
  ['heartbeatsSent', 'fsg_heartbeats_sent_total'],
  ['binds', 'fsg_websocket_binds_total'],
];
const GAUGES: ReadonlyArray<[string, string]> = [
  ['connections', 'fsg_websocket_connections'],
  ['bindings', 'fsg_websocket_bindings'],
  ['subscriptions', 'fsg_subscriptions_active'],
];

export class ActivityLog {
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<string, number>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    void this.counts().then((c) => (this.last = c));
    this.timer = setInterval(() => void this.report(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Logs the counts since the previous report; exposed for tests. */
  async report(): Promise<void> {
    try {
      const now = await this.counts();
      const deltas = Object.fromEntries(COUNTERS.map(([field]) => [field, (now.get(field) ?? 0) - (this.last.get(field) ?? 0)]));
      this.last = now;
      const gauges = Object.fromEntries(GAUGES.map(([field]) => [field, now.get(field) ?? 0]));
      this.logger.info({ replica: REPLICA, intervalSeconds: Math.round(this.intervalMs / 1000), ...gauges, ...deltas }, 'activity summary');
    } catch (err) {
      this.logger.warn({ err }, 'could not read the metrics for the activity summary');
    }
  }

  private async counts(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [field, name, labels] of [...COUNTERS, ...GAUGES] as Array<[string, string, Record<string, string>?]>) {
      const metric = this.metrics.registry.getSingleMetric(name);
      if (!metric) continue;
      const { values } = await metric.get();
      const wanted = values.filter((v) => Object.entries(labels ?? {}).every(([k, want]) => v.labels[k] === want));
      out.set(
        field,
        wanted.reduce((sum, v) => sum + v.value, 0),
      );
    }
    return out;
  }
}
