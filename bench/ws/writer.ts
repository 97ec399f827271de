// The write side of a run, open loop at a fixed rate: write i is sent at start + i/rate whatever
// the server does, so a server that falls behind shows it in latency instead of slowing the load.
// Each write is the bench Patient marked with the run, its sequence number and its send time.
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { Histogram } from './histogram.js';
import { benchPatient, nowMs } from './patient.js';
import type { Write } from './protocol.js';

/** Writes in flight beyond this make the writer wait: it reports the rate it achieved. */
const MAX_IN_FLIGHT = 256;

export interface WriteOutcome {
  acknowledged: Write[];
  failed: number;
  firstError?: string;
  /** Writes per second actually sent. */
  achievedRate: number;
  /** PUT round trips (or PUBLISH acknowledgements), ms. */
  ackLatency: Histogram;
}

export type Send = (patient: string, seq: number) => Promise<void>;

export async function drive(patients: readonly string[], rate: number, durationMs: number, send: Send): Promise<WriteOutcome> {
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const out: WriteOutcome = { acknowledged: [], failed: 0, achievedRate: 0, ackLatency: new Histogram() };
  const inFlight = new Set<Promise<void>>();
  const start = nowMs();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const seq = i + 1;
    const patient = patients[i % patients.length]!;
    const sentAt = nowMs();
    const p: Promise<void> = send(patient, seq).then(
      () => {
        out.ackLatency.record(nowMs() - sentAt);
        out.acknowledged.push([seq, patient]);
      },
      (err: unknown) => {
        out.failed++;
        out.firstError ??= String(err);
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  out.achievedRate = (total * 1000) / Math.max(1, nowMs() - start);
  return out;
}

/** A PUT of the marked Patient to `base` (the gateway's FHIR base, or the baseline's). */
export function putSender(base: string, run: string): Send {
  return async (patient, seq) => {
    const body = JSON.stringify(benchPatient(patient, { run, seq, sentAt: nowMs() }));
    const res = await request(`${base}/Patient/${patient}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, body });
    const text = await res.body.text();
    if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`PUT Patient/${patient}: ${res.statusCode} ${text.slice(0, 300)}`);
  };
}

/** A resource-change event published straight to the channel, carrying its resource (no fetch). */
export function publishSender(redis: Redis, channel: string, run: string): Send {
  return async (patient, seq) => {
    const sentAt = nowMs();
    const versionId = `${run}.${seq}`;
    const timestamp = new Date(sentAt).toISOString();
    const resource = { ...benchPatient(patient, { run, seq, sentAt }), meta: { versionId, lastUpdated: timestamp } };
    const receivers = await redis.publish(channel, JSON.stringify({ interaction: 'update', reference: `Patient/${patient}`, versionId, timestamp, resource }));
    if (receivers < 1) throw new Error(`nobody listens on ${channel}`);
  };
}
