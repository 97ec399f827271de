import { isFhirId } from '../fhir/id.js';
import { classifyBasicSearch } from '../topics/basic-search.js';
import type { Proxy, SeenWrite } from '../upstream/proxy.js';
import { bundleWrites } from './bundle-writes.js';
import type { OwnedContext } from './context.js';
import { bindingTokenOperation } from './binding-token-operation.js';
import type { Exchange } from './exchange.js';
import { eventsOperation } from './events-operation.js';
import { metadata } from './metadata.js';
import { parseFhirPath } from './request-path.js';
import { sendJson, sendOutcome } from './respond.js';
import { statusOperation } from './status-operation.js';
import { subscriptionWrites } from './subscription-writes.js';
import { topicRoutes } from './topic-routes.js';

export interface FhirRoutesOptions {
  basePath: string;
  proxy: Proxy;
  /** Called after a successful write that may have changed the upstream's topics. */
  onTopicsWritten: () => void;
  /** MAX_BODY_BYTES: the bound on a transaction or batch read whole to find its Subscription entries. */
  maxBodyBytes: number;
  /** The proxy's write hook, for transactions the gateway forwards itself. */
  onWrite?: (write: SeenWrite) => void | Promise<void>;
}

const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];

const conditionalRefusal = 'Conditional writes of Subscription are not supported by the gateway: address the Subscription by id';

// What may follow `Subscription/` besides an id: the type-level interactions FHIR spells with `_`,
// and operations. Anything else starting with `_` (`__proto__`, `_foo`) is refused, not proxied.
const TYPE_LEVEL = new Set(['_search', '_history']);
const OPERATION = /^\$[A-Za-z][A-Za-z0-9-]{0,63}$/;

/** Why a path under Subscription does not address a Subscription, or undefined when it does. */
function subscriptionPathProblem(s: string[]): string | undefined {
  const second = s[1];
  if (second === undefined || TYPE_LEVEL.has(second) || OPERATION.test(second)) return undefined;
  if (!isFhirId(second)) return `${JSON.stringify(second.slice(0, 80))} is not a valid Subscription id (1-64 of A-Z a-z 0-9 - .)`;
  if (s[2] === '_history' && s[3] !== undefined && !isFhirId(s[3])) return `${JSON.stringify(s[3].slice(0, 80))} is not a valid version id`;
  return undefined;
}

/**
 * Everything under the FHIR base: the few interactions the gateway owns are answered here, all
 * else is proxied untouched. One place that says which is which.
 */
export function fhirRoutes(ctx: OwnedContext, opts: FhirRoutesOptions): (ex: Exchange) => void | Promise<void> {
  const writes = subscriptionWrites(ctx);
  const status = statusOperation(ctx);
  const topics = topicRoutes(ctx);
  const capability = metadata(ctx);
  const events = eventsOperation(ctx);
  const bindingToken = bindingTokenOperation(ctx);
  const bundles = bundleWrites(ctx, { proxy: opts.proxy, basePath: opts.basePath, maxBodyBytes: opts.maxBodyBytes, onWrite: opts.onWrite });
  const topicsAreResources = ctx.fhirVersion !== 'R4';

  const afterSuccess = (ex: Exchange, fn: () => void) =>
    ex.onFinish((done) => {
      if (done.status >= 200 && done.status < 300) fn();
    });

  return (ex) => {
    // Routing is by the real method; an upstream that honoured an override would see another one
    // (a POST to Subscription/x becoming an unvalidated PUT or DELETE).
    const override = METHOD_OVERRIDES.find((h) => ex.headers.has(h));
    if (override) return sendOutcome(ex, 400, 'not-supported', `The ${override} header is not honoured by the gateway: send the request with the method itself`);
    const path = parseFhirPath(ex.path.slice(opts.basePath.length));
    if (!path.ok) return sendOutcome(ex, 400, 'invalid', `Refused: ${path.reason}. Send the path in its plain form.`);
    const s = path.segments;
    const m = ex.method;

    if (s.length === 1 && s[0] === 'metadata' && m === 'GET') {
      ex.route = 'metadata';
      return capability(ex);
    }

    // Transactions and batches: their Subscription entries are validated like direct writes.
    if (s.length === 0 && m === 'POST') {
      ex.route = 'bundle';
      return bundles(ex);
    }

    if (s[0] === 'Subscription') {
      ex.route = 'subscription';
      const problem = subscriptionPathProblem(s);
      if (problem) return sendOutcome(ex, 400, 'invalid', problem);
      // A conditional create answered 200 stored nothing new; the registry must not take the body as stored.
      if (s.length === 1 && m === 'POST' && ex.headers.has('if-none-exist')) return sendOutcome(ex, 405, 'not-supported', conditionalRefusal);
      if (s.length === 1 && m === 'POST') return writes.create(ex);
      if (s.length === 2 && s[1] === '$status' && (m === 'GET' || m === 'POST')) return status.type(ex);
      if (s.length === 3 && s[2] === '$status' && (m === 'GET' || m === 'POST')) return status.instance(ex, s[1]!);
      if (s.length === 3 && s[2] === '$events' && (m === 'GET' || m === 'POST')) return events(ex, s[1]!);
      if (s.length === 2 && s[1] === '$get-ws-binding-token' && (m === 'GET' || m === 'POST')) return bindingToken.type(ex);
      if (s.length === 3 && s[2] === '$get-ws-binding-token' && (m === 'GET' || m === 'POST')) return bindingToken.instance(ex, s[1]!);
      if (s.length === 2 && isFhirId(s[1]!)) {
        if (m === 'PUT') return writes.update(ex, s[1]!);
        if (m === 'DELETE') return writes.remove(ex, s[1]!);
        if (m === 'PATCH') return sendOutcome(ex, 405, 'not-supported', 'PATCH of a Subscription is not supported by the gateway: send the whole resource with PUT, so it can be validated');
      }
      if (s.length === 1 && (m === 'PUT' || m === 'DELETE' || m === 'PATCH')) {
        return sendOutcome(ex, 405, 'not-supported', conditionalRefusal);
      }
    }

    if (s[0] === 'SubscriptionTopic' && topicsAreResources) {
      ex.route = 'topic';
      if (m === 'GET' && s.length === 1) return topics.search(ex);
      if (m === 'POST' && s.length === 2 && s[1] === '_search') return topics.search(ex);
      if (m === 'GET' && s.length === 2) return topics.read(ex, s[1]!);
      if (m !== 'GET') afterSuccess(ex, opts.onTopicsWritten);
    }
    // R4 keeps topics in Basic resources (backport IG 1.2.0): discovery searches are answered from
    // the gateway's topics, and any Basic write may add or change one.
    if (s[0] === 'Basic' && !topicsAreResources) {
      const searching = (m === 'GET' && s.length === 1) || (m === 'POST' && s.length === 2 && s[1] === '_search');
      const found = searching ? classifyBasicSearch(ex.query) : undefined;
      if (found?.kind === 'topics') {
        ex.route = 'topic';
        return topics.basicSearch(ex);
      }
      if (found?.kind === 'mixed') {
        ex.route = 'topic';
        return sendOutcome(ex, 400, 'not-supported', found.message, { closeConnection: m === 'POST' });
      }
      const configured = m === 'GET' && s.length === 2 ? topics.configuredBasic(s[1]!) : undefined;
      if (configured) {
        ex.route = 'topic';
        return sendJson(ex, 200, configured);
      }
      if (m !== 'GET' && m !== 'HEAD') afterSuccess(ex, opts.onTopicsWritten);
    }

    ex.route = 'proxy';
    return opts.proxy(ex, path.relative);
  };
}
