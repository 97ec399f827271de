import { augmentCapabilityStatement } from '../fhir/capability.js';
import { relay } from '../upstream/forward.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { sendJson, sendOutcome } from './respond.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

/** GET metadata: the upstream's CapabilityStatement, augmented with what the gateway adds. */
export function metadata(ctx: OwnedContext) {
  return async (ex: Exchange): Promise<void> => {
    const format = new URLSearchParams(ex.query).get('_format') ?? '';
    if (/xml/i.test(format)) {
      sendOutcome(ex, 406, 'not-supported', 'The gateway serves its CapabilityStatement as JSON only (_format=json)');
      return;
    }
    let res;
    try {
      res = await ctx.client.request('GET', 'metadata', { kind: 'caller', headers: ex.headers });
    } catch (err) {
      if (!answeredUpstreamFailure(ex, err)) throw err;
      return;
    }
    if (res.status !== 200) {
      relay(ex, { status: res.status, headers: res.headers, text: JSON.stringify(res.body ?? {}) }, ctx.rewriter);
      return;
    }
    let augmented;
    try {
      augmented = augmentCapabilityStatement(res.body, { version: ctx.fhirVersion, topicUrls: ctx.topics.urls(), websocketUrl: ctx.wsUrl, publicBaseUrl: ctx.publicBaseUrl });
    } catch (err) {
      ctx.logger.warn({ err }, 'upstream metadata is not a CapabilityStatement');
      sendOutcome(ex, 502, 'processing', 'The FHIR server did not return a CapabilityStatement');
      return;
    }
    sendJson(ex, 200, JSON.parse(ctx.rewriter.text(JSON.stringify(augmented))));
  };
}
