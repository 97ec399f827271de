// Reading a spec-dialect R4 notification bundle (history Bundle, backport status Parameters first)
// the way a strict client would: every field the benchmark relies on is checked, never assumed.
export interface ParsedFrame {
  type: string;
  /** The id of the subscription the status names. */
  subscription: string;
  eventsSince: number;
  /** event-notification only */
  eventNumber?: number;
  focus?: string;
  resource?: unknown;
  /** The versionId in the entry's response etag. */
  etagVersion?: string;
}

interface Part {
  name?: string;
  valueString?: string;
  valueCode?: string;
  valueReference?: { reference?: string };
  part?: Part[];
}
interface Entry {
  resource?: { resourceType?: string; parameter?: Part[] };
  response?: { status?: string; etag?: string };
}

/** The frame's fields, or a reason it is not a well-formed notification. */
export function parseFrame(text: string): ParsedFrame | { error: string } {
  let bundle: { resourceType?: string; type?: string; entry?: Entry[] };
  try {
    bundle = JSON.parse(text) as typeof bundle;
  } catch {
    return { error: 'not JSON' };
  }
  if (bundle.resourceType === 'OperationOutcome') return { error: `OperationOutcome: ${text.slice(0, 300)}` };
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'history' || !Array.isArray(bundle.entry)) return { error: 'not a history Bundle' };
  const status = bundle.entry[0]?.resource;
  if (status?.resourceType !== 'Parameters' || !Array.isArray(status.parameter)) return { error: 'no status Parameters' };
  const param = (name: string) => status.parameter!.find((p) => p.name === name);
  const type = param('type')?.valueCode;
  const subscription = param('subscription')?.valueReference?.reference?.split('/').pop();
  const eventsSince = Number(param('events-since-subscription-start')?.valueString);
  if (!type || !subscription || !Number.isInteger(eventsSince)) return { error: 'status without type, subscription or events-since' };
  const out: ParsedFrame = { type, subscription, eventsSince };
  if (type !== 'event-notification') return out;
  const events = status.parameter.filter((p) => p.name === 'notification-event');
  if (events.length !== 1) return { error: `${events.length} notification-events in one bundle` };
  const parts = events[0]!.part ?? [];
  out.eventNumber = Number(parts.find((p) => p.name === 'event-number')?.valueString);
  out.focus = parts.find((p) => p.name === 'focus')?.valueReference?.reference;
  const entry = bundle.entry[1];
  out.resource = entry?.resource;
  out.etagVersion = /^W\/"(.+)"$/.exec(entry?.response?.etag ?? '')?.[1];
  if (!Number.isInteger(out.eventNumber) || !out.focus || bundle.entry.length !== 2) return { error: 'event-notification without number, focus or exactly one resource entry' };
  return out;
}
