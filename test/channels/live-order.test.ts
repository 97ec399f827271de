import { expect } from 'chai';
import { LiveOrder, type Cursor } from '../../src/channels/live-order.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live notification order per binding', () => {
  function setup(lastSent = 0) {
    const cursor: Cursor = { lastSent };
    const sent: number[] = [];
    const order = new LiveOrder(cursor);
    const offer = (n: number) => order.offer(n, () => {
      sent.push(n);
      cursor.lastSent = Math.max(cursor.lastSent, n);
    });
    return { cursor, sent, order, offer };
  }

  it('sends in order at once, and drops numbers already sent (a republished delivery)', () => {
    const { sent, offer } = setup();
    for (const n of [1, 2, 2, 3, 1]) offer(n);
    expect(sent).to.deep.equal([1, 2, 3]);
  });

  it('holds a number that arrives ahead of a gap until the gap fills', () => {
    const { sent, offer, order } = setup(4);
    offer(6);
    offer(7);
    expect(sent).to.deep.equal([]);
    offer(5);
    expect(sent).to.deep.equal([5, 6, 7]);
    order.stop();
  });

  it('gives up waiting after a moment, and still sends a missing number that turns up later, once', async () => {
    const { sent, offer } = setup();
    offer(2);
    await sleep(400);
    expect(sent).to.deep.equal([2]);
    offer(1);
    offer(1);
    offer(3);
    expect(sent).to.deep.equal([2, 1, 3]);
  });
});
