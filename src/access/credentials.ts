// The authority a WebSocket binding carries: the `Authorization` of the request that obtained its
// binding token, kept so that delivery can ask the upstream what that caller may read.
//
// Guarantees:
// - At rest the header is encrypted (AES-256-GCM, a random 96-bit IV per record, the jti as
//   additional data so a record cannot be moved to another token). The key is derived (HKDF-SHA256)
//   from the binding-token key material (TOKEN_SECRET, or the private key file), so every replica
//   that can verify a token can decrypt its credential, and nothing else can.
// - A record is keyed by the token's jti and expires with the token (same TTL); forget() removes it
//   at once. A token without a record does not bind (the caller asks for a new one).
// - The plaintext never leaves this process except as the Authorization header of an upstream
//   check: a Credential prints, serialises and logs as its id only. The id is an HMAC of the
//   header under a derived key, so it identifies "the same caller" (for shared cache verdicts and
//   metrics) without being reversible or guessable from a known token.
// - A request without Authorization is a valid credential too ("anonymous"): the upstream judges it.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Engine } from '../engine/engine.js';

const credentialKey = (jti: string) => `delivery:credential:${jti}`;
const RECORD_VERSION = 'v1';
const SALT = 'fhir-subscription-gateway';

/** One caller's authority. Prints as its id: the header itself is only readable through `authorization`. */
export class Credential {
  readonly #authorization: string | undefined;

  constructor(
    /** Stable, non-reversible identity of the header (hex HMAC); equal headers give equal ids. */
    readonly id: string,
    authorization: string | undefined,
  ) {
    this.#authorization = authorization;
  }

  /** The header to send to the upstream; undefined for an anonymous caller. */
  get authorization(): string | undefined {
    return this.#authorization;
  }

  get anonymous(): boolean {
    return this.#authorization === undefined;
  }

  toJSON(): { credential: string } {
    return { credential: this.id };
  }

  toString(): string {
    return `Credential(${this.id})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export class CredentialStore {
  private readonly encryptionKey: Buffer;
  private readonly idKey: Buffer;

  /** keyMaterial: the binding-token secret or private key (PEM); every replica has it, no client does. */
  constructor(
    private readonly engine: Engine,
    keyMaterial: string,
  ) {
    if (keyMaterial.length === 0) throw new RangeError('credential key material must not be empty');
    this.encryptionKey = Buffer.from(hkdfSync('sha256', keyMaterial, SALT, 'delivery-credentials/aes-256-gcm', 32));
    this.idKey = Buffer.from(hkdfSync('sha256', keyMaterial, SALT, 'delivery-credentials/id', 32));
  }

  /** The credential a request carries (its Authorization header, or anonymous). */
  fromHeaders(headers: ReadonlyMap<string, string>): Credential {
    return this.credential(headers.get('authorization'));
  }

  credential(authorization: string | undefined): Credential {
    const id = createHmac('sha256', this.idKey)
      .update(authorization === undefined ? 'anonymous' : `authorization:${authorization}`)
      .digest('hex')
      .slice(0, 32);
    return new Credential(id, authorization);
  }

  /** Records the credential for a token until it expires. */
  async keep(jti: string, credential: Credential, expiresAt: Date): Promise<void> {
    const ttlMs = Math.max(1, Math.ceil(expiresAt.getTime() - Date.now()));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(jti, 'utf8'));
    const plaintext = JSON.stringify({ a: credential.authorization ?? null });
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const record = [RECORD_VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
    await this.engine.set(credentialKey(jti), record, { ttlMs });
  }

  /**
   * The credential recorded for a token; undefined when there is none (expired, forgotten, or a
   * record this key cannot open: a key rotation, or tampering). Engine failures reject.
   */
  async load(jti: string): Promise<Credential | undefined> {
    const record = await this.engine.get(credentialKey(jti));
    if (record === null) return undefined;
    const [version, iv, tag, sealed] = record.split('.');
    if (version !== RECORD_VERSION || !iv || !tag || sealed === undefined) return undefined;
    let plaintext: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(jti, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      plaintext = Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
    const parsed = JSON.parse(plaintext) as { a?: unknown };
    if (parsed.a !== null && typeof parsed.a !== 'string') return undefined;
    return this.credential(parsed.a ?? undefined);
  }

  /** Drops a token's credential (the upstream stopped accepting it). Idempotent. */
  async forget(jti: string): Promise<void> {
    await this.engine.del(credentialKey(jti));
  }
}
