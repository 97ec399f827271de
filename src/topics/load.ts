// Reading topics from where they are kept: the config directory, and a searchset Bundle the
// upstream answered. A bad topic is logged with where it came from and skipped; loading never throws
// for one bad topic, so one typo cannot take the gateway's other topics down with it.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { TopicInvalid } from './invalid.js';
import { isObject, list, object } from './json.js';
import { isTopicBasic } from './parse-basic.js';
import { readTopic } from './parse.js';
import type { Topic, TopicSource } from './topic.js';

export type LoadLogger = Pick<Logger, 'warn' | 'info'>;

/** Every `*.json` in `dir` (name order): one SubscriptionTopic, a Basic-wrapped one, or a Bundle of them. */
export function loadTopicDir(dir: string, logger: LoadLogger): Topic[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.name.endsWith('.json') && isFileOrLinkToOne(dir, e))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing) logger.info({ dir }, 'no topic directory; no configured topics');
    else logger.warn({ dir, reason: (err as Error).message }, 'topic directory cannot be read; no configured topics');
    return [];
  }

  const topics: Topic[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
      topics.push(...topicsInFile(json, file, logger));
    } catch (err) {
      logger.warn({ file, reason: reason(err) }, 'topic file skipped');
    }
  }
  return topics;
}

// A Kubernetes ConfigMap volume holds each key as a symlink into a hidden, atomically swapped
// directory, so a link to a regular file counts as one.
function isFileOrLinkToOne(dir: string, e: Dirent): boolean {
  return e.isFile() || (e.isSymbolicLink() && statSync(join(dir, e.name), { throwIfNoEntry: false })?.isFile() === true);
}

function topicsInFile(json: unknown, file: string, logger: LoadLogger): Topic[] {
  const source: TopicSource = { kind: 'config', file };
  if (!isObject(json) || json.resourceType !== 'Bundle') return [accept(json, source, logger)];
  return list(json.entry, 'Bundle.entry').flatMap((entry, i) => {
    try {
      return [accept(object(entry, `Bundle.entry[${i}]`).resource, source, logger)];
    } catch (err) {
      logger.warn({ file, entry: i, reason: reason(err) }, 'topic in bundle file skipped');
      return [];
    }
  });
}

/**
 * The topics of an upstream searchset: SubscriptionTopic or Basic resources, each sourced as
 * `Type/id`. Throws TopicInvalid only when `bundle` is not a Bundle at all, so a caller can keep
 * the topics it had instead of replacing them with nothing. `origin` names the search in logs.
 */
export function topicsFromSearchBundle(bundle: unknown, origin: string, logger: LoadLogger): Topic[] {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new TopicInvalid(`${origin} did not answer a Bundle`);
  const topics: Topic[] = [];
  list(bundle.entry, 'Bundle.entry').forEach((raw, i) => {
    if (!isObject(raw) || !isObject(raw.resource)) return;
    const mode = isObject(raw.search) ? raw.search.mode : undefined;
    const resource = raw.resource;
    if (mode === 'include' || mode === 'outcome' || resource.resourceType === 'OperationOutcome') return;
    // A search by Basic.code should only return topics, but other Basic resources are not errors.
    if (resource.resourceType === 'Basic' && !isTopicBasic(resource)) return;
    const reference = typeof resource.id === 'string' ? `${String(resource.resourceType)}/${resource.id}` : typeof raw.fullUrl === 'string' ? raw.fullUrl : `${origin}#entry${i}`;
    try {
      topics.push(accept(resource, { kind: 'upstream', reference }, logger));
    } catch (err) {
      logger.warn({ topic: reference, reason: reason(err) }, 'upstream topic cannot be evaluated by the gateway; ignored');
    }
  });
  return topics;
}

function accept(json: unknown, source: TopicSource, logger: LoadLogger): Topic {
  const { topic, warnings } = readTopic(json, source);
  const from = source.kind === 'config' ? { file: source.file } : source.kind === 'upstream' ? { reference: source.reference } : {};
  for (const warning of warnings) logger.warn({ ...from, topic: topic.url, warning }, 'topic loaded with parts ignored');
  return topic;
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));
