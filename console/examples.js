// "Write a test resource": an example resource that should fire the chosen topic for the chosen
// filters, so a first notification is one click away. Best effort by design: it reads the
// trigger's `current` criteria (status=…) or a `%current.status = '…'` FHIRPath, and the filters'
// patient/subject, location, service-provider, code and _id; anything else is reported, not guessed.

const V3_ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const TEMPLATES = ['Encounter', 'Patient', 'Observation', 'Condition'];

function wantedStatus(trigger) {
  const q = /(?:^|&|\?)status=([^&,]+)/.exec(trigger.current ?? '');
  if (q) return decodeURIComponent(q[1]);
  const f = /%current\.status\s*=\s*'([^']+)'/.exec(trigger.fhirPath ?? '');
  return f?.[1];
}

const asReference = (type, v) => (v.includes('/') ? v : `${type}/${v}`);

/**
 * The writes to make, in order: `{ method, path, body, label }`, where a body may hold the
 * placeholder `{patient}` for the reference the first (Patient) write returns. `notes` say what
 * the example could not honour.
 */
export function planTestWrite(version, topic, filters) {
  // A trigger whose resource every filter can apply to, so the example can match them all.
  const fits = (type) => filters.every((f) => (f.resourceType ? f.resourceType === type : topic.filters.some((c) => c.parameter === f.parameter && (c.resource === undefined || c.resource === type))));
  const trigger =
    topic.triggers.find((t) => TEMPLATES.includes(t.resource) && fits(t.resource)) ??
    topic.triggers.find((t) => fits(t.resource)) ??
    topic.triggers.find((t) => TEMPLATES.includes(t.resource)) ??
    topic.triggers[0];
  if (!trigger) return { steps: [], notes: ['this topic has no resource trigger to fire'] };
  const type = trigger.resource;
  const mine = filters.filter((f) => f.resourceType === undefined || f.resourceType === type);
  const notes = [];
  const byParam = (...names) => mine.find((f) => names.includes(f.parameter) && f.modifier === undefined && f.comparator === undefined);
  const steps = [];

  if (type === 'Patient') {
    const id = byParam('_id')?.value;
    const body = { resourceType: 'Patient', ...(id ? { id } : {}), name: [{ family: 'Example', given: ['Console'] }], gender: 'unknown' };
    steps.push(id ? { method: 'PUT', path: `Patient/${encodeURIComponent(id)}`, body, label: `Patient/${id}` } : { method: 'POST', path: 'Patient', body, label: 'a Patient' });
    return { steps, notes: unhonoured(mine, ['_id'], notes) };
  }

  const patientFilter = byParam('patient', 'subject');
  const subject = patientFilter ? asReference('Patient', patientFilter.value) : '{patient}';
  if (!patientFilter)
    steps.push({ method: 'POST', path: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Example', given: ['Console'] }] }, label: 'a Patient to refer to', yields: 'patient' });

  let status = wantedStatus(trigger);
  let body;
  if (type === 'Encounter') {
    if (version === 'R5' && status === 'finished') status = 'completed';
    const coding = { system: V3_ACT, code: 'IMP', display: 'inpatient encounter' };
    body = { resourceType: 'Encounter', status: status ?? 'in-progress', class: version === 'R5' ? [{ coding: [coding] }] : coding, subject: { reference: subject } };
    const location = byParam('location');
    if (location) body.location = [{ location: { reference: asReference('Location', location.value) } }];
    const provider = byParam('service-provider');
    if (provider) body.serviceProvider = { reference: asReference('Organization', provider.value) };
    return {
      steps: [...steps, { method: 'POST', path: 'Encounter', body, label: `an Encounter (${body.status})` }],
      notes: unhonoured(mine, ['patient', 'subject', 'location', 'service-provider'], notes),
    };
  }
  if (type === 'Observation') {
    const code = byParam('code')?.value;
    const [system, c] = code?.includes('|') ? code.split('|') : ['http://loinc.org', code ?? '8867-4'];
    body = {
      resourceType: 'Observation',
      status: status ?? 'final',
      code: { coding: [{ system, code: c }] },
      subject: { reference: subject },
      valueQuantity: { value: 120, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    return { steps: [...steps, { method: 'POST', path: 'Observation', body, label: 'an Observation (value 120)' }], notes: unhonoured(mine, ['patient', 'subject', 'code'], notes) };
  }
  body = { resourceType: type, ...(status ? { status } : {}), subject: { reference: subject } };
  if (type === 'Condition') body.code = { text: 'Example condition' };
  else notes.push(`no template for ${type}: a minimal resource is sent, which the server may refuse`);
  return { steps: [...steps, { method: 'POST', path: type, body, label: `a ${type}` }], notes: unhonoured(mine, ['patient', 'subject'], notes) };
}

function unhonoured(filters, known, notes) {
  for (const f of filters) if (!known.includes(f.parameter) || f.modifier || f.comparator) notes.push(`the filter ${f.text} is not reflected in the example; it may not match`);
  return notes;
}

/** Runs the plan against the gateway; returns the references written. */
export async function runTestWrite(api, plan) {
  const written = [];
  let patient;
  for (const step of plan.steps) {
    const body = JSON.parse(JSON.stringify(step.body).replaceAll('{patient}', patient ?? 'Patient/unknown'));
    const saved = await api.call(step.method, step.path, body);
    const ref = `${saved.resourceType}/${saved.id}`;
    if (step.yields === 'patient') patient = ref;
    written.push(ref);
  }
  return written;
}
