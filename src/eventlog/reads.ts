// Reading a subscription's place and events out of its membership record and the streams it was
// part of (membership.ts): what EventLog.position and EventLog.read return.
import type { Engine } from '../engine/engine.js';
import { decodeBody, decodeEntry, type EventRecord } from './entry.js';
import type { Epoch } from './epoch.js';
import { bodyKey, streamKeys } from './keys.js';
import type { MemberRecord } from './membership.js';

export interface Position {
  /** The subscription's last number (events-since-subscription-start). */
  count: number;
  /** Numbers below this were handed out in a state the engine lost: those events may be gone. */
  lostBefore?: number;
}

/** Its current count: from the stream it is in (one round trip), or where it left off. */
export async function positionOf(engine: Engine, epoch: Epoch, subscriptionId: string, record: MemberRecord): Promise<Position> {
  const current = record.segments.at(-1);
  const lost = record.lostBefore === undefined ? {} : { lostBefore: record.lostBefore };
  // Not numbered in this epoch yet: its next number is the floor's next.
  if (!current) return { count: epoch.floor, ...lost };
  if (current.until !== undefined) return { count: current.until, ...lost };
  const state = await engine.streamState(streamKeys(current.stream).state, [subscriptionId]);
  const m = state.members[0];
  const count = m && 'base' in m ? state.seq - m.base : m ? m.left : current.from - 1;
  return { count, ...lost };
}

/** Its events from..to (to capped at count), at most limit; and the lowest number still kept. */
export async function readRange(engine: Engine, record: MemberRecord, count: number, from: number, to: number, limit: number): Promise<{ firstKept: number | null; events: EventRecord[] }> {
  const last = Math.min(to, count);
  const events: EventRecord[] = [];
  let firstKept: number | null = null;
  for (const segment of record.segments) {
    const end = segment.until ?? count;
    if (end < segment.from) continue;
    const { log } = streamKeys(segment.stream);
    const a = Math.max(from, segment.from);
    const b = Math.min(last, end);
    const want = a <= b && events.length < limit;
    const [bounds, entries] = await Promise.all([
      firstKept === null ? engine.logBounds(log) : Promise.resolve(null),
      want ? engine.logRange(log, a + segment.base, b + segment.base, limit - events.length) : Promise.resolve([]),
    ]);
    if (bounds) {
      const first = Math.max(segment.from, bounds.first - segment.base);
      if (first <= end) firstKept = first;
    }
    for (const entry of entries) {
      const logged = decodeEntry(entry.data);
      if (logged) events.push({ ...logged, number: entry.seq - segment.base });
    }
  }
  if (events.length > 0) {
    const bodies = await engine.getMany(events.map((e) => bodyKey(e.eventId)));
    events.forEach((e, i) => {
      const resource = decodeBody(bodies[i] ?? null);
      if (resource) e.resource = resource;
    });
  }
  return { firstKept, events };
}
