// Reading event numbers out of notification frames, whatever the FHIR version's shape, so fault
// tests can count every notification a subscription received.
interface Part {
  name: string;
  valueString?: string;
  valueReference?: { reference: string };
  part?: Part[];
}

export interface Notified {
  number: number;
  focus?: string;
}

/** The events a notification bundle carries (none for handshakes and heartbeats). */
export function notifiedEvents(frame: Record<string, unknown>): Notified[] {
  const status = (frame.entry as Array<{ resource?: Record<string, unknown> }> | undefined)?.[0]?.resource;
  if (!status) return [];
  if (status.resourceType === 'Parameters') {
    return ((status.parameter as Part[] | undefined) ?? [])
      .filter((p) => p.name === 'notification-event')
      .map((p) => ({ number: Number(p.part?.find((x) => x.name === 'event-number')?.valueString), focus: p.part?.find((x) => x.name === 'focus')?.valueReference?.reference }));
  }
  const events = (status.notificationEvent as Array<{ eventNumber: string | number; focus?: { reference: string } }> | undefined) ?? [];
  return events.map((e) => ({ number: Number(e.eventNumber), focus: e.focus?.reference }));
}

/** Every event number in the frames, in arrival order. */
export function allNumbers(frames: ReadonlyArray<Record<string, unknown>>): number[] {
  return frames.flatMap((f) => notifiedEvents(f).map((e) => e.number));
}
