// Which R4 Basic searches are topic discovery (backport IG 1.2.0: `Basic?code=fhir-types|SubscriptionTopic`).
// Those the gateway answers from its topics; every other Basic search belongs to the upstream.
import { FHIR_TYPES, TOPIC_TYPE_CODE } from './xver.js';

export type BasicSearchKind =
  /** Every `code` value names the SubscriptionTopic type: answer from the gateway's topics. */
  | { kind: 'topics'; rest: URLSearchParams }
  /** No `code` value names it (or `code` carries a modifier): the upstream's search. */
  | { kind: 'upstream' }
  /** Some values name topics and some do not: one answer cannot be both, so the caller refuses. */
  | { kind: 'mixed'; message: string };

// A token without a system matches the code in any system; `|code` asks for a coding with no system, which
// the topic coding (system fhir-types) is not.
function namesTopicType(token: string): boolean {
  const bar = token.indexOf('|');
  if (bar < 0) return token === TOPIC_TYPE_CODE;
  return token.slice(0, bar) === FHIR_TYPES && token.slice(bar + 1) === TOPIC_TYPE_CODE;
}

/** Classifies a Basic search by its query string (`a=b&c=d`, without `?`). */
export function classifyBasicSearch(query: string): BasicSearchKind {
  const params = new URLSearchParams(query);
  const codes: string[] = [];
  const rest = new URLSearchParams();
  for (const [key, value] of params) {
    // code:text, code:not, ... are the upstream's to answer: they are not a request for topics.
    if (key.startsWith('code:')) return { kind: 'upstream' };
    if (key === 'code') codes.push(...value.split(',').filter((v) => v !== ''));
    else rest.append(key, value);
  }
  const topical = codes.filter(namesTopicType);
  if (topical.length === 0) return { kind: 'upstream' };
  if (topical.length < codes.length) {
    return {
      kind: 'mixed',
      message: `A Basic search for ${FHIR_TYPES}|${TOPIC_TYPE_CODE} is answered from the gateway's topics and cannot be combined with other codes (${codes.filter((c) => !namesTopicType(c)).join(', ')}): search for them separately`,
    };
  }
  return { kind: 'topics', rest };
}
