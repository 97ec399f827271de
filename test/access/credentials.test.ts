import { expect } from 'chai';
import { inspect } from 'node:util';
import { CredentialStore } from '../../src/access/credentials.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createLogger } from '../../src/log.js';

describe('delivery credentials', () => {
  let engine: MemoryEngine;
  const secret = 's'.repeat(32);
  const header = 'Bearer very-secret-access-token';
  beforeEach(async () => {
    engine = new MemoryEngine(createLogger('silent'));
    await engine.start();
  });
  afterEach(() => engine.close());

  it('keeps the Authorization sealed in the engine, readable by any store with the same key material', async () => {
    const store = new CredentialStore(engine, secret);
    await store.keep('jti-1', store.credential(header), new Date(Date.now() + 60_000));
    const raw = await engine.get('delivery:credential:jti-1');
    expect(raw).to.be.a('string');
    expect(raw).to.not.include('very-secret');
    expect(Buffer.from(raw!.split('.').pop()!, 'base64url').toString('latin1')).to.not.include('very-secret');
    // Another replica: a new store over the same engine and key material.
    const loaded = await new CredentialStore(engine, secret).load('jti-1');
    expect(loaded?.authorization).to.equal(header);
    expect(loaded?.id).to.equal(store.credential(header).id);
  });

  it('refuses a record under another key or moved to another jti, and forgets on request', async () => {
    const store = new CredentialStore(engine, secret);
    await store.keep('jti-1', store.credential(header), new Date(Date.now() + 60_000));
    expect(await new CredentialStore(engine, 'o'.repeat(32)).load('jti-1')).to.equal(undefined);
    await engine.set('delivery:credential:jti-2', (await engine.get('delivery:credential:jti-1'))!);
    expect(await store.load('jti-2'), 'the jti is authenticated data').to.equal(undefined);
    await store.forget('jti-1');
    expect(await store.load('jti-1')).to.equal(undefined);
  });

  it('expires with the token', async () => {
    const store = new CredentialStore(engine, secret);
    await store.keep('jti-short', store.credential(header), new Date(Date.now() + 150));
    expect(await store.load('jti-short')).to.not.equal(undefined);
    await new Promise((r) => setTimeout(r, 250));
    expect(await store.load('jti-short')).to.equal(undefined);
  });

  it('keeps an anonymous caller as anonymous, with its own id', async () => {
    const store = new CredentialStore(engine, secret);
    await store.keep('jti-a', store.fromHeaders(new Map()), new Date(Date.now() + 60_000));
    const anonymous = await store.load('jti-a');
    expect(anonymous?.anonymous).to.equal(true);
    expect(anonymous?.authorization).to.equal(undefined);
    expect(anonymous?.id).to.not.equal(store.credential(header).id);
  });

  it('never prints the header: JSON, inspect and string forms show the id only', () => {
    const c = new CredentialStore(engine, secret).credential(header);
    for (const text of [JSON.stringify({ c }), inspect(c), String(c), inspect({ nested: { c } }, { depth: 5 })]) {
      expect(text).to.not.include('very-secret');
      expect(text).to.include(c.id);
    }
    expect(c.id).to.match(/^[0-9a-f]{32}$/);
    expect(c.id, 'a keyed hash, not a plain one').to.not.equal(new CredentialStore(engine, 'x'.repeat(32)).credential(header).id);
  });
});
