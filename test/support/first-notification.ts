import { fhir } from './fhir.js';
import { notificationType } from './ws-client.js';
import { WsClient } from './ws-client.js';

export const ENCOUNTER_ADMISSION = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/encounter-admission';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

export interface FirstNotification {
  subscriptionId: string;
  /** The `websocket-url` parameter of $get-ws-binding-token: where the gateway tells clients to connect. */
  websocketUrl: string;
  notification: Record<string, unknown>;
}

/**
 * The README's quick start, as a newcomer runs it against a gateway in front of the demo upstream
 * (seeded with Patient/example and her planned Encounter/example): subscribe to the shipped
 * encounter-admission topic for that patient, bind a WebSocket with a binding token, admit the
 * encounter, and wait for the event notification. `connectTo` overrides where the socket dials
 * (a proxy in front of the gateway, say); by default the URL the gateway handed out.
 */
export async function firstNotification(base: string, opts: { connectTo?: string; headers?: Record<string, string> } = {}): Promise<FirstNotification> {
  const headers = opts.headers ?? {};
  const subscription = {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'first subscription',
    criteria: ENCOUNTER_ADMISSION,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: 'Encounter?patient=Patient/example' }] },
    channel: { type: 'websocket', payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] } },
  };
  const created = await fhir<{ id: string }>('POST', `${base}/Subscription`, subscription, headers);
  if (created.status !== 201) throw new Error(`POST Subscription: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  const tokenAnswer = await fhir<{ parameter: Array<{ name: string; valueString?: string; valueUrl?: string }> }>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`, undefined, headers);
  if (tokenAnswer.status !== 200) throw new Error(`$get-ws-binding-token: ${tokenAnswer.status} ${JSON.stringify(tokenAnswer.body)}`);
  const param = (name: string) => tokenAnswer.body.parameter.find((p) => p.name === name);
  const token = param('token')?.valueString;
  const websocketUrl = param('websocket-url')?.valueUrl ?? param('websocket-url')?.valueString;
  if (!token || !websocketUrl) throw new Error(`$get-ws-binding-token without token or websocket-url: ${JSON.stringify(tokenAnswer.body)}`);

  const socket = await WsClient.connect(opts.connectTo ?? websocketUrl);
  try {
    socket.send(`bind-with-token ${token}`);
    await socket.next((f) => notificationType(f) === 'handshake', 'the handshake', 10_000);
    const admitted = await fhir('PUT', `${base}/Encounter/example`, encounterInProgress(), headers);
    if (admitted.status !== 200) throw new Error(`PUT Encounter/example: ${admitted.status} ${JSON.stringify(admitted.body)}`);
    const notification = await socket.next((f) => notificationType(f) === 'event-notification', 'the admission notification', 10_000);
    return { subscriptionId: id, websocketUrl, notification };
  } finally {
    socket.close();
  }
}

/** The seeded Encounter/example, admitted (R4 shape). */
export function encounterInProgress(): Record<string, unknown> {
  return {
    resourceType: 'Encounter',
    id: 'example',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
    subject: { reference: 'Patient/example' },
  };
}
