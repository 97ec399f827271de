// The version-specific shapes the console writes and reads: Subscriptions (R4/R4B backport
// profile, R5), $status answers and notification bundles (R4 Parameters, R4B/R5 SubscriptionStatus).

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

export function buildSubscription(version, { topic, filters, content, heartbeat, maxCount }) {
  const reason = 'Created in the gateway console';
  if (version === 'R5') {
    return compact({
      resourceType: 'Subscription',
      status: 'requested',
      reason,
      topic,
      filterBy: filters.length
        ? filters.map((f) => compact({ resourceType: f.resourceType, filterParameter: f.parameter, comparator: f.comparator, modifier: f.modifier, value: f.value }))
        : undefined,
      channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'websocket' },
      content,
      contentType: 'application/fhir+json',
      heartbeatPeriod: heartbeat,
      maxCount,
    });
  }
  const channelExt = [
    heartbeat === undefined ? undefined : { url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: heartbeat },
    maxCount === undefined ? undefined : { url: `${BACKPORT}/backport-max-count`, valuePositiveInt: maxCount },
  ].filter(Boolean);
  return compact({
    resourceType: 'Subscription',
    meta: { profile: [`${BACKPORT}/backport-subscription`] },
    status: 'requested',
    reason,
    criteria: topic,
    _criteria: filters.length ? { extension: filters.map((f) => ({ url: `${BACKPORT}/backport-filter-criteria`, valueString: filterString(f) })) } : undefined,
    channel: compact({
      extension: channelExt.length ? channelExt : undefined,
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: content }] },
    }),
  });
}

const filterString = (f) => `${f.resourceType ? `${f.resourceType}?` : ''}${f.parameter}${f.modifier ? `:${f.modifier}` : ''}=${f.comparator ?? ''}${f.value}`;

/** What the subscription list shows of one Subscription, in any version. */
export function summarize(sub) {
  const backport = sub.channel !== undefined;
  const ext = (list, name) => (list ?? []).find((e) => e.url === `${BACKPORT}/${name}`);
  return {
    id: sub.id,
    status: sub.status,
    topic: backport ? sub.criteria : sub.topic,
    channel: backport ? sub.channel.type : sub.channelType?.code,
    content: backport ? ext(sub.channel._payload?.extension, 'backport-payload-content')?.valueCode : sub.content,
    filters: backport ? (sub._criteria?.extension ?? []).map((e) => e.valueString) : (sub.filterBy ?? []).map((f) => filterString({ ...f, parameter: f.filterParameter })),
  };
}

/** The status resource of a notification or $status entry, in one neutral form. */
export function readStatus(resource) {
  if (resource?.resourceType === 'Parameters') {
    const p = resource.parameter ?? [];
    const val = (name) => {
      const found = p.find((x) => x.name === name);
      return found && Object.entries(found).find(([k]) => k.startsWith('value'))?.[1];
    };
    return {
      type: val('type'),
      status: val('status'),
      topic: val('topic'),
      subscription: val('subscription')?.reference,
      total: toNumber(val('events-since-subscription-start')),
      events: p
        .filter((x) => x.name === 'notification-event')
        .map((x) => {
          const part = (name) => (x.part ?? []).find((q) => q.name === name);
          return {
            number: toNumber(part('event-number')?.valueString ?? part('event-number')?.valueInteger64),
            focus: part('focus')?.valueReference?.reference,
            timestamp: part('timestamp')?.valueInstant,
          };
        }),
      error: p.filter((x) => x.name === 'error').map((x) => x.valueCodeableConcept?.text ?? x.valueCodeableConcept?.coding?.[0]?.code),
    };
  }
  if (resource?.resourceType === 'SubscriptionStatus') {
    return {
      type: resource.type,
      status: resource.status,
      topic: resource.topic,
      subscription: resource.subscription?.reference,
      total: toNumber(resource.eventsSinceSubscriptionStart),
      events: (resource.notificationEvent ?? []).map((e) => ({ number: toNumber(e.eventNumber), focus: e.focus?.reference, timestamp: e.timestamp })),
      error: (resource.error ?? []).map((e) => e.text ?? e.coding?.[0]?.code),
    };
  }
  return undefined;
}

/** One frame from the socket: a notification bundle, an OperationOutcome, or something unexpected. */
export function readFrame(text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', message: 'not JSON' };
  }
  if (json?.resourceType === 'OperationOutcome') {
    const issue = json.issue?.[0] ?? {};
    return { kind: issue.severity === 'warning' ? 'warning' : 'error', message: issue.diagnostics ?? issue.code ?? 'OperationOutcome' };
  }
  if (json?.resourceType === 'Bundle') {
    const status = readStatus(json.entry?.[0]?.resource);
    if (status) return { kind: status.type ?? 'notification', status, entries: (json.entry ?? []).length };
  }
  return { kind: 'other', message: json?.type ?? json?.resourceType ?? 'unknown frame' };
}

function toNumber(v) {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function compact(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
