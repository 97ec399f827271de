import { expect } from 'chai';
import { Pool } from 'undici';
import { CredentialStore } from '../../src/access/credentials.js';
import { Visibility } from '../../src/access/visibility.js';
import { AccessGate } from '../../src/channels/access-gate.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { UpstreamClient } from '../../src/upstream/fhir-client.js';
import { startHttpServer } from '../support/http-server.js';

describe('access gate (live deliveries wait for their checks in order)', () => {
  it('never lets an event whose check answers first overtake an earlier one of the same subscription', async () => {
    // Patient/slow answers after 300 ms, everything else at once.
    const upstream = await startHttpServer((req, res) => {
      const id = /\/Patient\/([^/?]+)/.exec(req.url ?? '')?.[1];
      const answer = () => res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Patient', id }));
      if (id === 'slow') setTimeout(answer, 300);
      else answer();
    });
    const pool = new Pool(upstream.url);
    const engine = new MemoryEngine(createLogger('silent'));
    await engine.start();
    try {
      const visibility = new Visibility({ client: new UpstreamClient(pool, `${upstream.url}/fhir`), metrics: new Metrics(), logger: createLogger('silent') });
      const gate = new AccessGate(visibility, createLogger('silent'));
      // One credential per event, so each check is its own read (one credential's would be batched into one search).
      const store = new CredentialStore(engine, 'g'.repeat(32));
      const [credential, second, third] = ['Bearer x', 'Bearer y', 'Bearer z'].map((h) => store.credential(h)) as [
        ReturnType<typeof store.credential>,
        ReturnType<typeof store.credential>,
        ReturnType<typeof store.credential>,
      ];
      const order: string[] = [];
      const done = new Promise<void>((resolve) => {
        gate.run('sub-a', [credential], [{ reference: 'Patient/slow' }], (v) => order.push(`a1:${v!.get(credential.id)!.visible.has('Patient/slow')}`));
        gate.run('sub-a', [second], [{ reference: 'Patient/fast' }], (v) => order.push(`a2:${v!.get(second.id)!.visible.has('Patient/fast')}`));
        // Nothing to check, but something of sub-a is waiting: it still goes after.
        gate.run('sub-a', [credential], [], (v) => {
          order.push(`a3:${v === undefined}`);
          resolve();
        });
        // Another subscription does not wait for sub-a.
        gate.run('sub-b', [third], [{ reference: 'Patient/quick' }], () => order.push('b1'));
      });
      await done;
      expect(order).to.deep.equal(['b1', 'a1:true', 'a2:true', 'a3:true']);

      await new Promise((r) => setImmediate(r));
      // With nothing waiting and nothing to check, delivery runs at once (synchronously).
      let ran = false;
      gate.run('sub-a', [credential], [], () => (ran = true));
      expect(ran).to.equal(true);
    } finally {
      await pool.close();
      await upstream.close();
      await engine.close();
    }
  });
});
