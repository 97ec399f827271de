import type { FhirVersion } from '../config.js';
import type { Logger } from '../log.js';
import { SERVICE, UpstreamError, type UpstreamClient } from '../upstream/fhir-client.js';
import { TopicInvalid } from './invalid.js';
import { parseTopic } from './parse.js';
import type { Topic } from './topic.js';

interface StoredResource {
  resourceType?: string;
  id?: string;
}

const reported = new Set<string>();

/** Logs a problem once per distinct message, not at every resync. */
function once(logger: Logger, key: string, fields: object, msg: string): void {
  if (reported.has(key)) return;
  reported.add(key);
  logger.warn(fields, msg);
}

/**
 * The topics the upstream stores: SubscriptionTopic resources (R4B, R5) or Basic-wrapped ones
 * (R4). Undefined when the upstream cannot be asked, so the caller keeps what it had.
 */
export async function fetchUpstreamTopics(client: UpstreamClient, version: FhirVersion, logger: Logger): Promise<Topic[] | undefined> {
  const query = version === 'R4' ? 'Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic&_count=200' : 'SubscriptionTopic?_count=200';
  const topics: Topic[] = [];
  try {
    for await (const resource of client.search(query, SERVICE)) {
      const stored = resource as StoredResource;
      const reference = `${stored.resourceType}/${stored.id}`;
      try {
        topics.push(parseTopic(resource, { kind: 'upstream', reference }));
      } catch (err) {
        if (!(err instanceof TopicInvalid)) throw err;
        once(logger, `${reference}:${err.message}`, { topic: reference, reason: err.message }, 'upstream topic cannot be evaluated by the gateway; ignored');
      }
    }
  } catch (err) {
    const detail = err instanceof UpstreamError ? `answered ${err.response.status}` : (err as Error).message;
    once(logger, `search:${detail}`, { query: query.split('?')[0], detail }, 'could not read topics from the upstream; using the configured topics');
    return undefined;
  }
  return topics;
}
