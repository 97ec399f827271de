// An R4 Basic resource wrapping a SubscriptionTopic in cross-version extensions, rewritten into
// SubscriptionTopic JSON so that one parser (parse-r5.ts) validates and normalises every form.
import { TopicInvalid } from './invalid.js';
import { compact, isObject, list, object, optionalString, type JsonObject } from './json.js';
import { ARTIFACT_STATUS, ARTIFACT_URL, FHIR_TYPES, TOPIC_TYPE_CODE, XVER_R4B, XVER_R5 } from './xver.js';

interface Extension {
  url: string;
  /** The value[x], whatever its type; the topic parser checks it. */
  value: unknown;
  children: Extension[];
}

/** Whether a Basic's code says it is a SubscriptionTopic; other Basic resources are simply not topics. */
export function isTopicBasic(basic: JsonObject): boolean {
  if (!isObject(basic.code) || !Array.isArray(basic.code.coding)) return false;
  return basic.code.coding.some((c: unknown) => isObject(c) && c.system === FHIR_TYPES && c.code === TOPIC_TYPE_CODE);
}

export function basicToSubscriptionTopic(basic: JsonObject): JsonObject {
  if (!isTopicBasic(basic)) throw new TopicInvalid(`Basic.code is not ${FHIR_TYPES}#${TOPIC_TYPE_CODE}, so this Basic is not a SubscriptionTopic`);
  const ext = extensions(basic.extension, 'Basic.extension');
  const mod = extensions(basic.modifierExtension, 'Basic.modifierExtension');

  const statusUrls = [ARTIFACT_STATUS, XVER_R5 + 'status', XVER_R4B + 'status'];
  const unknown = mod.filter((m) => !statusUrls.includes(m.url));
  if (unknown.length > 0) throw new TopicInvalid(`Basic.modifierExtension ${unknown.map((m) => m.url).join(', ')} is not understood by the gateway`);

  const element = (name: string) => ext.filter((e) => e.url === XVER_R5 + name || e.url === XVER_R4B + name);
  const scalar = (name: string) => element(name)[0]?.value;
  const byUrl = (from: Extension[], url: string) => from.find((e) => e.url === url)?.value;
  const status = byUrl(mod, ARTIFACT_STATUS) ?? mod.find((m) => m.url !== ARTIFACT_STATUS)?.value ?? scalar('status');

  return compact({
    resourceType: 'SubscriptionTopic',
    id: basic.id,
    url: byUrl(ext, ARTIFACT_URL) ?? scalar('url'),
    version: scalar('version'),
    name: scalar('name'),
    title: scalar('title'),
    status,
    date: scalar('date'),
    description: scalar('description'),
    derivedFrom: element('derivedFrom').map((e) => e.value),
    resourceTrigger: element('resourceTrigger').map((e) =>
      compact({
        description: child(e, 'description'),
        resource: child(e, 'resource'),
        supportedInteraction: children(e, 'supportedInteraction'),
        queryCriteria: queryCriteria(e),
        fhirPathCriteria: child(e, 'fhirPathCriteria'),
      }),
    ),
    eventTrigger: element('eventTrigger').map(() => ({})),
    canFilterBy: element('canFilterBy').map((e) =>
      compact({
        description: child(e, 'description'),
        resource: child(e, 'resource'),
        filterParameter: child(e, 'filterParameter'),
        filterDefinition: child(e, 'filterDefinition'),
        comparator: children(e, 'comparator'),
        modifier: children(e, 'modifier'),
      }),
    ),
    notificationShape: element('notificationShape').map((e) => compact({ resource: child(e, 'resource'), include: children(e, 'include'), revInclude: children(e, 'revInclude') })),
  });
}

function queryCriteria(trigger: Extension): JsonObject | undefined {
  const q = trigger.children.find((c) => c.url === 'queryCriteria');
  if (q === undefined) return undefined;
  return compact({
    previous: child(q, 'previous'),
    resultForCreate: child(q, 'resultForCreate'),
    current: child(q, 'current'),
    resultForDelete: child(q, 'resultForDelete'),
    requireBoth: child(q, 'requireBoth'),
  });
}

const child = (e: Extension, url: string): unknown => e.children.find((c) => c.url === url)?.value;
const children = (e: Extension, url: string): unknown[] => e.children.filter((c) => c.url === url).map((c) => c.value);

function extensions(raw: unknown, path: string): Extension[] {
  return list(raw, path).map((item, i) => {
    const at = `${path}[${i}]`;
    const o = object(item, at);
    const url = optionalString(o.url, `${at}.url`);
    if (url === undefined) throw new TopicInvalid(`${at}.url is required`);
    const valueKey = Object.keys(o).find((k) => k.startsWith('value'));
    return { url, value: valueKey === undefined ? undefined : o[valueKey], children: extensions(o.extension, `${at}.extension`) };
  });
}
