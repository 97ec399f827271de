import { TokenRejected } from '../../src/channels/tokens.js';
import type { Gateway } from '../../src/gateway.js';
import { startAccessUpstream, USERS, type AccessUpstream } from './access-upstream.js';
import { startTestGateway } from './gateway.js';
import { startRedis, type TestRedis } from './redis.js';

/** A gateway in front of the access-checking upstream, with its service credential, on either engine. */
export interface AccessSetup {
  access: AccessUpstream;
  gateway: Gateway;
  close(): Promise<void>;
}

export async function startAccessGateway(kind: 'memory' | 'redis'): Promise<AccessSetup> {
  const access = await startAccessUpstream();
  let redis: TestRedis | undefined;
  // No resync during a test: what the registry holds comes from the writes under test.
  const env: Record<string, string> = { FHIR_UPSTREAM_URL: access.url, FHIR_UPSTREAM_AUTHORIZATION: USERS.service, TOPICS_DIR: 'test/fixtures/topics', RESYNC_INTERVAL_MS: '3600000' };
  if (kind === 'redis') {
    redis = await startRedis();
    Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'a'.repeat(32) });
  }
  const gateway = await startTestGateway(env);
  return {
    access,
    gateway,
    close: async () => {
      await gateway.close();
      await access.close();
      await redis?.stop();
    },
  };
}

/** True once the gateway refuses the token (revoked, or otherwise rejected). */
export function tokenRefused(gateway: Gateway, token: string): Promise<boolean> {
  return gateway.tokens.verify(token).then(
    () => false,
    (err: unknown) => {
      if (err instanceof TokenRejected) return true;
      throw err;
    },
  );
}

/** Request headers that make a call as this user of the access-checking upstream. */
export const as = (user: string): Record<string, string> => ({ authorization: user });
