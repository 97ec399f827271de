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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
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
