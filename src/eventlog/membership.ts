// A subscription's place in the numbered streams: which stream it is in now, and which it was in
// before, each from which of its own numbers. Its number for a stream entry is seq - base.
//
// The record is one JSON value per subscription, changed by compare-and-set, so replicas that
// update it at once cannot lose each other's change. The membership itself (base, join point) is
// kept by the stream, atomically with its counter (engine streamJoin/streamLeave): a replica with
// a stale view can never number an event for a subscription that has left the stream.
//
// A crash between the stream step and the record step leaves the stream ahead of the record;
// the next join or leave reads the stream's answer again (both are idempotent) and completes it.
import type { Engine } from '../engine/engine.js';
import type { Epoch } from './epoch.js';
import { memberRecordKey, streamKeys } from './keys.js';

export interface Segment {
  stream: string;
  /** The subscription's number for a stream entry is seq - base. */
  base: number;
  /** The subscription's first number in this stream. */
  from: number;
  /** Its last number here, once it left (filters changed, or it was turned off). */
  until?: number;
}

export interface MemberRecord {
  epoch: string;
  segments: Segment[];
  /** The subscription was active when the engine lost its state: its numbers below this were lost. */
  lostBefore?: number;
}

/** Older segments are forgotten; their entries have long been trimmed by then. */
const MAX_SEGMENTS = 8;
const CAS_ATTEMPTS = 8;

export interface Joined {
  base: number;
  /** Entries with seq > joinSeq are the subscription's. */
  joinSeq: number;
}

export class Memberships {
  constructor(private readonly engine: Engine) {}

  /** The subscription's record in this epoch; a record of an earlier epoch counts as none. */
  async read(subscriptionId: string, epoch: Epoch): Promise<{ raw: string | null; record: MemberRecord | undefined }> {
    const raw = await this.engine.get(memberRecordKey(subscriptionId));
    const record = raw === null ? undefined : parseRecord(raw);
    return { raw, record: record?.epoch === epoch.id ? record : undefined };
  }

  /** Makes the subscription a member of `stream`, leaving the one it was in; idempotent. */
  async join(subscriptionId: string, stream: string, epoch: Epoch): Promise<Joined> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const { raw, record } = await this.read(subscriptionId, epoch);
      const next: MemberRecord = record ? { ...record, segments: record.segments.map((s) => ({ ...s })) } : { epoch: epoch.id, segments: [] };
      const current = next.segments.at(-1);
      let count: number;
      if (current && current.until === undefined && current.stream === stream) {
        count = -1; // a member already, or it left without the record knowing: the stream remembers
      } else if (current && current.until === undefined) {
        current.until = (await this.engine.streamLeave(streamKeys(current.stream).state, subscriptionId)) ?? current.from - 1;
        count = current.until;
      } else if (current) {
        count = current.until!;
      } else {
        count = epoch.floor;
      }
      const joined = await this.engine.streamJoin(streamKeys(stream).state, subscriptionId, count);
      if (current && current.until === undefined && current.stream === stream) {
        if (joined.base === current.base) return joined;
        current.until = joined.joinSeq - joined.base;
      }
      next.segments.push({ stream, base: joined.base, from: joined.joinSeq - joined.base + 1 });
      next.segments = next.segments.slice(-MAX_SEGMENTS);
      if (await this.engine.setIf(memberRecordKey(subscriptionId), raw, JSON.stringify(next))) return joined;
    }
    throw new Error(`could not record the stream membership of Subscription/${subscriptionId}`);
  }

  /**
   * Marks subscriptions that were active when the state was lost, in an epoch not yet published
   * (so no replica can be joining them into it while this runs).
   */
  async markLost(subscriptionIds: Iterable<string>, epoch: Epoch): Promise<void> {
    const record = JSON.stringify({ epoch: epoch.id, segments: [], lostBefore: epoch.floor + 1 } satisfies MemberRecord);
    await Promise.all([...subscriptionIds].map((id) => this.engine.set(memberRecordKey(id), record)));
  }

  /** Ends the subscription's current membership (it was turned off or deleted); idempotent. */
  async leave(subscriptionId: string, epoch: Epoch): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const { raw, record } = await this.read(subscriptionId, epoch);
      const current = record?.segments.at(-1);
      if (!record || !current || current.until !== undefined) return;
      const last = (await this.engine.streamLeave(streamKeys(current.stream).state, subscriptionId)) ?? current.from - 1;
      const next: MemberRecord = { ...record, segments: record.segments.map((s) => (s === current ? { ...s, until: last } : s)) };
      if (await this.engine.setIf(memberRecordKey(subscriptionId), raw, JSON.stringify(next))) return;
    }
    throw new Error(`could not record that Subscription/${subscriptionId} left its stream`);
  }
}

function parseRecord(raw: string): MemberRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<MemberRecord>;
    if (typeof v.epoch !== 'string' || !Array.isArray(v.segments)) return undefined;
    const ok = v.segments.every(
      (s: Partial<Segment>) => typeof s.stream === 'string' && Number.isSafeInteger(s.base) && Number.isSafeInteger(s.from) && (s.until === undefined || Number.isSafeInteger(s.until)),
    );
    return ok ? (v as MemberRecord) : undefined;
  } catch {
    return undefined;
  }
}
