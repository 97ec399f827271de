import { expect } from 'chai';
import { readBundleResponse, scanBundle, subscriptionIdFromLocation } from '../../src/fhir/bundle-subscription-entries.js';

const BASE = 'https://gw.example/fhir';
const tx = (...entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const sub = { resourceType: 'Subscription', status: 'requested' };

describe('Subscription entries of a transaction or batch', () => {
  it('finds creates, updates and deletes in every spelling of the URL', () => {
    const scan = scanBundle(
      tx(
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { resource: sub, request: { method: 'POST', url: 'Subscription' } },
        { resource: { ...sub, id: 'a' }, request: { method: 'put', url: '/Subscription/a' } },
        { request: { method: 'DELETE', url: 'Subscr%69ption/b' } },
        { request: { method: 'DELETE', url: `${BASE}/Subscription/c` } },
        { request: { method: 'DELETE', url: 'https://elsewhere.example/r4/Subscription/d' } },
      ),
      [BASE],
    );
    expect(scan).to.deep.equal({
      kind: 'subscriptions',
      bundleType: 'transaction',
      entries: [
        { index: 1, op: 'create', resource: sub },
        { index: 2, op: 'update', id: 'a', resource: { ...sub, id: 'a' } },
        { index: 3, op: 'delete', id: 'b' },
        { index: 4, op: 'delete', id: 'c' },
        { index: 5, op: 'delete', id: 'd' },
      ],
    });
  });

  it('leaves reads, searches, operations and other Bundles to the upstream', () => {
    const reads = tx(
      { request: { method: 'GET', url: 'Subscription/a' } },
      { request: { method: 'POST', url: 'Subscription/_search' } },
      { request: { method: 'POST', url: 'Subscription/a/$status' } },
      { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'urn:uuid:1' } },
    );
    expect(scanBundle(reads, [BASE])).to.deep.equal({ kind: 'none' });
    expect(scanBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: sub }] }, [BASE])).to.deep.equal({ kind: 'none' });
    expect(scanBundle({ resourceType: 'Patient' }, [BASE])).to.deep.equal({ kind: 'none' });
    expect(scanBundle([], [BASE])).to.deep.equal({ kind: 'none' });
  });

  it('refuses PATCH, conditional forms and a Subscription without a request, naming the entry', () => {
    const refusal = (entry: unknown) => {
      const scan = scanBundle(tx({ request: { method: 'GET', url: 'Patient' } }, entry), [BASE]);
      return scan.kind === 'refused' ? `${scan.refusal.status} ${scan.refusal.expression} ${scan.refusal.message}` : scan.kind;
    };
    expect(refusal({ request: { method: 'PATCH', url: 'Subscription/a' } })).to.match(/^422 Bundle\.entry\[1\]\.request\.method Bundle\.entry\[1\]: PATCH/);
    expect(refusal({ request: { method: 'DELETE', url: 'Subscription' } })).to.match(/^422 Bundle\.entry\[1\]\.request .*conditional/);
    expect(refusal({ request: { method: 'DELETE', url: 'Subscription?status=off' } })).to.match(/conditional/);
    expect(refusal({ resource: sub, request: { method: 'POST', url: 'Subscription', ifNoneExist: 'x=y' } })).to.match(/conditional/);
    expect(refusal({ resource: sub })).to.match(/^400 Bundle\.entry\[1\]\.request /);
    expect(refusal({ resource: sub, request: { method: 'PUT', url: 'Basic/1' } })).to.match(/written at Subscription/);
    expect(refusal({ request: { method: 'POST', url: 'Subscription' } })).to.match(/^400 Bundle\.entry\[1\]\.resource /);
  });

  it('reads each answer of a transaction-response, with the stored id', () => {
    const answers = readBundleResponse({
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: [
        { response: { status: '201 Created', location: 'Patient/p/_history/1' } },
        { response: { status: '201 Created', location: 'https://up.example/fhir/Subscription/s1/_history/1' } },
        { response: { status: '200' }, resource: { resourceType: 'Subscription', id: 's2' } },
        { response: { status: 'OK' } },
        null,
      ],
    });
    expect(answers).to.deep.equal([
      { status: 201, id: undefined },
      { status: 201, id: 's1' },
      { status: 200, id: 's2' },
      { status: undefined, id: undefined },
      { status: undefined, id: undefined },
    ]);
    expect(readBundleResponse({ resourceType: 'Bundle', type: 'searchset', entry: [] })).to.equal(undefined);
    expect(subscriptionIdFromLocation('Subscription/x')).to.equal('x');
    expect(subscriptionIdFromLocation('Subscription/x/_history/2?y')).to.equal('x');
    expect(subscriptionIdFromLocation('Patient/x')).to.equal(undefined);
  });
});
