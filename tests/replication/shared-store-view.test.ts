// The frozen store views split observers share (ADR 0025): requests within the window get one
// view, taken once; it is closed once, after the last holder released it; a request after the
// window gets a new view.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KvSnapshot } from '../../src/application/ports/kv-store.js';
import { SharedStoreView } from '../../src/application/shard/shared-store-view.js';

test('requests in one window share one view, closed after the last release', async () => {
  const taken: string[] = [];
  const closed: string[] = [];
  const views = new SharedStoreView(async () => {
    const name = `view${taken.length}`;
    taken.push(name);
    const view: KvSnapshot = { get: async () => undefined, range: async function* () {}, close: async () => void closed.push(name) };
    return view;
  }, 50);
  const [a, b] = await Promise.all([views.acquire(), views.acquire()]);
  assert.is(a.view, b.view, 'one view for both');
  assert.equal(taken, ['view0']);
  await a.release();
  await a.release(); // released once only
  assert.equal(closed, [], 'still held by the other');
  const c = await views.acquire();
  assert.is.not(c.view, a.view, 'a request after the window gets a new view');
  await b.release();
  assert.equal(closed, ['view0']);
  await c.release();
  assert.equal(closed, ['view0', 'view1']);
});

test('a view that cannot be taken fails every request of its window', async () => {
  const views = new SharedStoreView(() => Promise.reject(new Error('no view')), 10);
  const outcomes = await Promise.allSettled([views.acquire(), views.acquire()]);
  assert.equal(outcomes.map((o) => o.status), ['rejected', 'rejected']);
});

test.run();
