// Binding tokens: what $get-ws-binding-token hands out and a WebSocket `bind-with-token` presents.
// A token is a JWT naming the subscriptions it may bind; its jti is recorded in the engine for
// exactly its lifetime, so revoking it (or every token of a subscription) takes effect on every
// replica, and a token whose record is gone is refused even though its signature is still good.
// The record also holds what was issued (subscriptions, expiry): a token whose claims differ from
// its record (re-signed by someone holding the key, naming another subscription or a later
// expiry) is refused, so the engine, not the signature alone, says what a jti may bind.
//
// Tokens never reach the logs: nothing here logs one, and errors name the reason, not the token.
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';

export const TOKEN_AUDIENCE = 'fhir-subscription-gateway/ws';

export interface TokenClaims {
  jti: string;
  subscriptions: string[];
  expiresAt: Date;
}

export type TokenKeys = { algorithm: 'HS256'; secret: string } | { algorithm: 'RS256' | 'ES256'; privateKey: string; publicKey: string };

/** `not-issued`: well signed, but its claims are not what the gateway recorded for its jti. */
export type TokenRejectionReason = 'malformed' | 'bad-signature' | 'expired' | 'revoked' | 'unknown' | 'not-issued';

/** A token that does not bind. The message names the reason only, never the token. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
  constructor(readonly reason: TokenRejectionReason) {
    super(`binding token rejected: ${reason}`);
  }
}

export interface BindingTokensOptions {
  engine: Engine;
  keys: TokenKeys;
  /** Whole seconds, >= 1 (configuration allows 60..86400; tests use less). */
  lifetimeSeconds: number;
  issuer: string;
  logger: Logger;
}

// Engine keys. The per-subscription set has its own {hash tag} per subscription.
const jtiKey = (jti: string) => `tokens:jti:${jti}`;
const subscriptionTokensKey = (subscriptionId: string) => `{sub:${subscriptionId}}:tokens`;

const INDEX_MARGIN_MS = 60_000;

/** The most subscriptions one token may name (a JWT carries them all). */
export const MAX_TOKEN_SUBSCRIPTIONS = 100;

/** What the engine holds under a jti: what was issued, to compare with what is presented. */
interface TokenRecord {
  subscriptions: string[];
  /** JWT exp, seconds since the epoch. */
  exp: number;
}

interface Payload {
  jti?: unknown;
  subscriptions?: unknown;
  exp?: unknown;
}

export class BindingTokens {
  private readonly algorithm: TokenKeys['algorithm'];
  private readonly signingKey: string | KeyObject;
  private readonly verifyingKey: string | KeyObject;
  private readonly engine: Engine;
  private readonly lifetimeSeconds: number;
  private readonly issuer: string;
  private readonly logger: Logger;

  constructor(opts: BindingTokensOptions) {
    if (!Number.isInteger(opts.lifetimeSeconds) || opts.lifetimeSeconds < 1) throw new RangeError(`lifetimeSeconds must be a positive integer, got ${opts.lifetimeSeconds}`);
    this.engine = opts.engine;
    this.lifetimeSeconds = opts.lifetimeSeconds;
    this.issuer = opts.issuer;
    this.logger = opts.logger;
    this.algorithm = opts.keys.algorithm;
    if (opts.keys.algorithm === 'HS256') {
      if (opts.keys.secret.length < 32) throw new RangeError('the HS256 binding-token secret must be at least 32 characters');
      this.signingKey = this.verifyingKey = opts.keys.secret;
    } else {
      this.signingKey = createPrivateKey(opts.keys.privateKey);
      this.verifyingKey = createPublicKey(opts.keys.publicKey);
    }
    // Fail at start, not at the first client: a key of the wrong kind or a mismatched pair.
    const probe = jwt.sign({ probe: true }, this.signingKey, { algorithm: this.algorithm, expiresIn: 60 });
    jwt.verify(probe, this.verifyingKey, { algorithms: [this.algorithm] });
  }

  /** Signs a JWT naming the subscriptions and records its jti in the engine for its lifetime. */
  async issue(subscriptionIds: string[]): Promise<{ token: string; claims: TokenClaims }> {
    const subscriptions = [...new Set(subscriptionIds)];
    if (subscriptions.length === 0) throw new RangeError('a binding token must name at least one subscription');
    if (subscriptions.length > MAX_TOKEN_SUBSCRIPTIONS) throw new RangeError(`a binding token names at most ${MAX_TOKEN_SUBSCRIPTIONS} subscriptions`);
    const jti = randomUUID();
    const now = Date.now();
    const exp = Math.floor(now / 1000) + this.lifetimeSeconds;
    const expiresAt = new Date(exp * 1000);
    const ttlMs = Math.max(1, expiresAt.getTime() - now);
    // Index first, record second: a revocation that runs in between cannot miss the index, and
    // deletes a record that does not exist yet; the caller re-checks the registry afterwards.
    for (const id of subscriptions) await this.index(id, jti, expiresAt.getTime());
    await this.engine.set(jtiKey(jti), JSON.stringify({ subscriptions, exp } satisfies TokenRecord), { ttlMs });
    const token = jwt.sign({ subscriptions, exp }, this.signingKey, { algorithm: this.algorithm, jwtid: jti, issuer: this.issuer, audience: TOKEN_AUDIENCE });
    return { token, claims: { jti, subscriptions, expiresAt } };
  }

  /**
   * Verifies the signature (algorithm pinned), issuer, audience, expiry, that the jti is still
   * recorded in the engine, and that the claims are the ones recorded for it. Resolves with the claims or rejects with TokenRejected; an engine
   * failure rejects with that error, so a caller can tell "refused" from "could not check".
   */
  async verify(token: string): Promise<TokenClaims> {
    let payload: Payload;
    try {
      payload = jwt.verify(token, this.verifyingKey, { algorithms: [this.algorithm], issuer: this.issuer, audience: TOKEN_AUDIENCE }) as Payload;
    } catch (err) {
      throw new TokenRejected(rejection(err));
    }
    if (typeof payload !== 'object' || payload === null) throw new TokenRejected('malformed');
    const { jti, subscriptions, exp } = payload;
    if (typeof jti !== 'string' || jti === '' || typeof exp !== 'number') throw new TokenRejected('malformed');
    if (!Array.isArray(subscriptions) || subscriptions.length === 0 || !subscriptions.every((s) => typeof s === 'string' && s !== '')) {
      throw new TokenRejected('malformed');
    }
    const recorded = await this.engine.get(jtiKey(jti));
    if (recorded === null) throw new TokenRejected('revoked');
    const record = parseRecord(recorded);
    if (!record || record.exp !== exp || !sameList(record.subscriptions, subscriptions as string[])) throw new TokenRejected('not-issued');
    return { jti, subscriptions: subscriptions as string[], expiresAt: new Date(exp * 1000) };
  }

  /** Revokes one token; unknown or already expired jtis are fine. */
  async revoke(jti: string): Promise<void> {
    const recorded = await this.engine.get(jtiKey(jti));
    await this.engine.del(jtiKey(jti));
    for (const id of parseRecord(recorded)?.subscriptions ?? []) await this.engine.hdel(subscriptionTokensKey(id), jti);
  }

  /**
   * Revokes every token naming this subscription, on whichever replica it was issued. A token
   * naming several subscriptions is revoked whole: the client asks for a new one for the rest.
   */
  async revokeSubscription(subscriptionId: string): Promise<void> {
    const key = subscriptionTokensKey(subscriptionId);
    const jtis = await this.engine.hgetall(key);
    for (const jti of jtis.keys()) await this.engine.del(jtiKey(jti));
    await this.engine.del(key);
    if (jtis.size > 0) this.logger.debug({ subscription: subscriptionId, tokens: jtis.size }, 'binding tokens revoked');
  }

  /** Adds a jti to a subscription's set, drops expired members, and keeps the set alive as long as its newest token. */
  private async index(subscriptionId: string, jti: string, expiresAtMs: number): Promise<void> {
    const key = subscriptionTokensKey(subscriptionId);
    await this.engine.hset(key, jti, String(expiresAtMs));
    const now = Date.now();
    let latest = expiresAtMs;
    for (const [other, value] of await this.engine.hgetall(key)) {
      const until = Number(value);
      if (!(until > now)) await this.engine.hdel(key, other);
      else latest = Math.max(latest, until);
    }
    // A margin: another replica recording an older token at the same moment may set a slightly
    // shorter expiry after ours; the set must not vanish while a token it lists is still valid.
    await this.engine.expire(key, Math.max(1, latest - now) + INDEX_MARGIN_MS);
  }
}

function rejection(err: unknown): TokenRejectionReason {
  if (err instanceof jwt.TokenExpiredError) return 'expired';
  if (!(err instanceof jwt.JsonWebTokenError)) return 'malformed';
  const m = err.message;
  if (m === 'invalid signature' || m === 'jwt signature is required' || m === 'invalid algorithm' || m.startsWith('please specify "none"') || m.startsWith('secretOrPublicKey must be')) {
    return 'bad-signature';
  }
  if (m.startsWith('jwt audience invalid') || m.startsWith('jwt issuer invalid')) return 'unknown';
  return 'malformed';
}

/** An unreadable record (or one from before records held claims) reads as none. */
function parseRecord(json: string | null): TokenRecord | undefined {
  if (json === null) return undefined;
  try {
    const value = JSON.parse(json) as { subscriptions?: unknown; exp?: unknown } | null;
    if (typeof value !== 'object' || value === null || typeof value.exp !== 'number' || !Array.isArray(value.subscriptions)) return undefined;
    if (!value.subscriptions.every((v): v is string => typeof v === 'string')) return undefined;
    return { subscriptions: value.subscriptions, exp: value.exp };
  } catch {
    return undefined;
  }
}

/** Same members in the same order: issue() dedupes once and signs exactly what it records. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The issuer every replica of one deployment signs and expects: the same whatever each replica's
 * PUBLIC_BASE_URL (a client may bind on any replica), and different for another deployment on the
 * same Redis (another key prefix), whose engine holds none of this one's token records anyway.
 */
export function deploymentIssuer(redis: { keyPrefix: string } | undefined): string {
  return redis ? `fhir-subscription-gateway:${redis.keyPrefix}` : 'fhir-subscription-gateway';
}

/**
 * The keys the configuration names; with the memory engine and nothing configured, a random
 * secret for this process alone (tokens do not survive a restart, which is fine for one replica).
 */
export function bindingTokenKeys(config: Pick<Config, 'tokenAlgorithm' | 'tokenSecret' | 'tokenPrivateKey' | 'tokenPublicKey' | 'redis'>, logger: Logger): TokenKeys {
  if (config.tokenAlgorithm !== 'HS256') {
    if (!config.tokenPrivateKey || !config.tokenPublicKey) throw new Error(`${config.tokenAlgorithm} binding tokens need the key files`);
    return { algorithm: config.tokenAlgorithm, privateKey: config.tokenPrivateKey, publicKey: config.tokenPublicKey };
  }
  if (config.tokenSecret) return { algorithm: 'HS256', secret: config.tokenSecret };
  if (config.redis) throw new Error('TOKEN_SECRET is required when Redis is configured');
  logger.info('TOKEN_SECRET is not set: binding tokens are signed with a random key for this process only (set it, or key files, to run several replicas)');
  return { algorithm: 'HS256', secret: randomBytes(32).toString('base64url') };
}
