import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, type ZlibOptions } from 'node:zlib';
import { parseBoundedJson, type BoundedJson } from '../fhir/bounded-json.js';
import { entryPath, readBundleResponse, scanBundle, type EntryAnswer, type SubscriptionEntry } from '../fhir/bundle-subscription-entries.js';
import { SubscriptionInvalid, withStatus } from '../fhir/subscription-parse.js';
import type { SubscriptionModel } from '../fhir/subscription.js';
import { ConfirmedWrites, managedStatus } from '../subscriptions/confirmed-writes.js';
import { forwardBuffered, relay, type Relayed } from '../upstream/forward.js';
import type { Proxy, SeenWrite } from '../upstream/proxy.js';
import { BodyTooLarge, ClientAborted, readBody } from './body.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { sendOutcome } from './respond.js';
import { validateSubscription } from './subscription-validation.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

export interface BundleWritesOptions {
  proxy: Proxy;
  /** The gateway path of the FHIR base, e.g. /fhir. */
  basePath: string;
  /** The bound on a transaction or batch the gateway reads whole (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** The proxy's hook for events, for a Bundle the gateway forwarded itself; awaited before the client is answered. */
  onWrite?: (write: SeenWrite) => void | Promise<void>;
}

const DECODERS: Record<string, (b: Buffer, o: ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

type Checked = { entry: SubscriptionEntry; model?: SubscriptionModel };

/**
 * POST to the FHIR base: transactions and batches. The body is read whole (up to MAX_BODY_BYTES)
 * so its Subscription entries can be found. Without any, the bytes go on untouched through the
 * proxy, whose answer streams as for any request. With some, each is validated like a direct write
 * before anything reaches the upstream (the first bad one fails the request, naming the entry), its
 * status is set by the gateway, and the upstream's answer for each entry updates the registry at
 * once (subscriptions/confirmed-writes.ts), before the client has it.
 */
export function bundleWrites(ctx: OwnedContext, opts: BundleWritesOptions): (ex: Exchange) => Promise<void> {
  const confirmed = new ConfirmedWrites(ctx.registry, ctx.client, ctx.logger);

  return (ex) => {
    const body = readBody(ex, opts.maxBodyBytes);
    return (async () => {
      let bytes: Buffer;
      try {
        bytes = await body;
      } catch (err) {
        if (err instanceof BodyTooLarge) sendOutcome(ex, 413, 'too-costly', `Request body is larger than the limit of ${opts.maxBodyBytes} bytes`, { closeConnection: true });
        else if (!(err instanceof ClientAborted)) throw err;
        return;
      }
      const plain = await decoded(ex, bytes);
      if (!plain) return;
      const parsed = readJson(plain);
      const input = parsed.ok ? parsed.value : undefined;
      const scan = input === undefined ? undefined : scanBundle(input, [ctx.publicBaseUrl]);
      if (scan === undefined && mentionsSubscription(plain) && !parsed.ok && parsed.reason === 'too-deep') {
        sendOutcome(ex, 400, 'too-costly', `The Bundle is nested too deeply to be processed (${parsed.detail}), so its Subscription entries cannot be validated`);
        return;
      }
      if (scan === undefined && mentionsSubscription(plain)) {
        sendOutcome(ex, 415, 'not-supported', 'A transaction or batch that may write Subscriptions must be sent as valid JSON, so the gateway can validate them; this body could not be read as JSON');
        return;
      }
      if (scan?.kind === 'refused') {
        sendOutcome(ex, scan.refusal.status, scan.refusal.code, scan.refusal.message, { expression: [scan.refusal.expression] });
        return;
      }
      if (scan === undefined || scan.kind === 'none') {
        opts.proxy(ex, '', bytes);
        return;
      }
      const checked = await validateAll(ex, scan.entries);
      if (!checked || ex.aborted) return;
      const entries = (input as { entry: Array<Record<string, unknown>> }).entry;
      for (const { entry, model } of checked) {
        if (!model || entry.op === 'delete') continue;
        const resource = withStatus(entry.resource as Record<string, unknown>, managedStatus(model));
        if (entry.op === 'create') delete resource.id;
        entries[entry.index] = { ...entries[entry.index], resource };
      }
      let text: string;
      try {
        text = JSON.stringify(input);
      } catch {
        // Only a structure nested too deeply to serialise gets here.
        sendOutcome(ex, 400, 'too-costly', 'The Bundle is nested too deeply to be processed');
        return;
      }
      const answer = await forward(ex, text);
      if (!answer) return;
      await record(checked, answer);
      // The upstream has made the changes whether or not the client is still there.
      if (answer.status >= 200 && answer.status < 300) {
        await opts.onWrite?.({ method: 'POST', path: '', query: ex.query, status: answer.status, headers: answer.headers, body: answer.text, requestBody: text, receivedAt: new Date() });
      }
      if (!ex.aborted) relay(ex, answer, ctx.rewriter);
    })();
  };

  /**
   * The body as the upstream will read it: a compressed transaction is inspected decompressed (to
   * the same bound), or a Subscription could pass inside it unseen. Answers the client itself when
   * it cannot be decoded.
   */
  async function decoded(ex: Exchange, bytes: Buffer): Promise<Buffer | undefined> {
    const encoding = (ex.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return bytes;
    const decode = Object.hasOwn(DECODERS, encoding) ? DECODERS[encoding] : undefined;
    if (!decode) {
      sendOutcome(ex, 415, 'not-supported', `Content-Encoding ${JSON.stringify(encoding)} is not supported for a transaction or batch; send gzip, deflate, br or none`);
      return undefined;
    }
    try {
      return await decode(bytes, { maxOutputLength: opts.maxBodyBytes });
    } catch (err) {
      const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      if (tooLarge) sendOutcome(ex, 413, 'too-costly', `The decompressed request body is larger than the limit of ${opts.maxBodyBytes} bytes`);
      else sendOutcome(ex, 400, 'structure', `The request body is not valid ${encoding}`);
      return undefined;
    }
  }

  async function validateAll(ex: Exchange, entries: SubscriptionEntry[]): Promise<Checked[] | undefined> {
    const out: Checked[] = [];
    for (const entry of entries) {
      if (entry.op === 'delete') {
        out.push({ entry });
        continue;
      }
      try {
        out.push({ entry, model: (await validateSubscription(entry.resource, ctx)).model });
      } catch (err) {
        if (!(err instanceof SubscriptionInvalid)) throw err;
        const at = `${entryPath(entry.index)}.resource`;
        const expression = err.expression.map((e) => e.replace(/^Subscription/, at));
        sendOutcome(ex, err.status, err.code, `${entryPath(entry.index)}: ${err.message}`, { expression });
        return undefined;
      }
    }
    return out;
  }

  async function forward(ex: Exchange, text: string): Promise<Relayed | undefined> {
    // This route is the FHIR base itself (fhir-routes.ts), whatever slashes the client added.
    const path = (ctx.upstreamPath || '/') + (ex.query ? `?${ex.query}` : '');
    try {
      return await forwardBuffered(ctx.pool, path, ex, 'POST', text);
    } catch (err) {
      if (!answeredUpstreamFailure(ex, err)) throw err;
      return undefined;
    }
  }

  /** A transaction that failed changed nothing; otherwise each entry's own answer decides. */
  async function record(checked: Checked[], answer: Relayed): Promise<void> {
    if (answer.status < 200 || answer.status >= 300) return;
    const answers = readBundleResponse(parseJson(Buffer.from(answer.text)));
    for (const { entry, model } of checked) {
      const one: EntryAnswer | undefined = answers?.[entry.index];
      if (!one || one.status === undefined) {
        // The answer cannot be lined up with the request: a delete is confirmed by the gateway's
        // own read; creates and updates wait for the resync.
        if (entry.op === 'delete') await confirmed.deleted(entry.id, 404);
        else ctx.logger.warn({ entry: entry.index }, 'a transaction/batch answer does not say how a Subscription entry went; the registry picks it up at the next resync');
        continue;
      }
      if (entry.op === 'delete') await confirmed.deleted(entry.id, one.status);
      else await confirmed.stored(model!, entry.op === 'update' ? entry.id : one.id, one.status);
    }
  }
}

// The size is bounded by the body reader and the decoder; the depth by the shared reader.
function readJson(bytes: Buffer): BoundedJson {
  return parseBoundedJson(bytes.toString('utf8').replace(/^\uFEFF/, ''), { maxBytes: Number.MAX_SAFE_INTEGER });
}

function parseJson(bytes: Buffer): unknown {
  const parsed = readJson(bytes);
  return parsed.ok ? parsed.value : undefined;
}

/**
 * A body that is not JSON (XML, say) cannot be checked entry by entry; if it could hold a
 * Subscription at all it is refused. XML element names cannot be escaped; attribute values can
 * (`&#83;`, and URLs `%53`), so those are decoded before looking.
 */
function mentionsSubscription(bytes: Buffer): boolean {
  const char = (code: number) => (code <= 0x10ffff ? String.fromCodePoint(code) : '');
  const text = bytes
    .toString('utf8')
    .replace(/&#(x[0-9a-f]{1,8}|[0-9]{1,10});/gi, (_, n: string) => char(n[0] === 'x' || n[0] === 'X' ? parseInt(n.slice(1), 16) : Number(n)))
    .replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return /subscription/i.test(text);
}
