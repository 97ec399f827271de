import type { FhirVersion } from '../config.js';
import type { TopicLookup } from '../topics/topic.js';

/** What parsing a Subscription needs to know about the server it is for. */
export interface ParseContext {
  /** The upstream server's version: it decides which Subscription form is expected. */
  fhirVersion: FhirVersion;
  topics: TopicLookup;
  /** For checking `end`; defaults to the current time. */
  now?: Date;
  /** The resource types a classic criteria may name; absent: any name of the right shape. */
  knownResourceTypes?: ReadonlySet<string>;
}
