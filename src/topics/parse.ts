// Entry point for reading a topic in any form the gateway meets: R5 or R4B SubscriptionTopic JSON,
// or an R4 Basic resource wrapping one.
import { TopicInvalid } from './invalid.js';
import { object } from './json.js';
import { basicToSubscriptionTopic } from './parse-basic.js';
import { parseSubscriptionTopic, type ParsedTopic } from './parse-r5.js';
import type { Topic, TopicSource } from './topic.js';

export { TopicInvalid, type ParsedTopic };
export { topicIdFromCanonical } from './parse-r5.js';

/** The topic plus warnings about parts it ignored (event triggers, unusable filters); throws TopicInvalid. */
export function readTopic(json: unknown, source: TopicSource): ParsedTopic {
  const o = object(json, 'a topic');
  switch (o.resourceType) {
    case 'SubscriptionTopic':
      return parseSubscriptionTopic(o, source, 'SubscriptionTopic');
    case 'Basic':
      return parseSubscriptionTopic(basicToSubscriptionTopic(o), source, 'Basic-wrapped SubscriptionTopic');
    default:
      throw new TopicInvalid(`resourceType ${JSON.stringify(o.resourceType ?? null)} is neither SubscriptionTopic nor a Basic-wrapped SubscriptionTopic`);
  }
}

/** Throws TopicInvalid with the reason when the gateway cannot evaluate the topic. */
export function parseTopic(json: unknown, source: TopicSource): Topic {
  return readTopic(json, source).topic;
}
