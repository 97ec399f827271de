import { expect } from 'chai';
import { TtlCache } from '../../src/access/ttl-cache.js';

describe('TtlCache', () => {
  it('forgets entries older than the TTL and keeps at most maxEntries, dropping the oldest set first', () => {
    let now = 1000;
    const cache = new TtlCache<string>(2, 100, () => now);
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.set('a', 'A2'); // setting again makes it the newest
    cache.set('c', 'C');
    expect(cache.size).to.equal(2);
    expect(cache.get('b')).to.equal(undefined);
    expect(cache.get('a')).to.equal('A2');
    now += 100;
    expect(cache.get('a'), 'expired').to.equal(undefined);
    expect(cache.size).to.equal(1);
  });

  it('refuses sizes and TTLs that cannot work', () => {
    expect(() => new TtlCache(0, 1)).to.throw(RangeError);
    expect(() => new TtlCache(1, 0)).to.throw(RangeError);
  });
});
