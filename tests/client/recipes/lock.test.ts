// The distributed Lock against a real `oxia-ts standalone` (2 shards): mutual exclusion
// under contention, first-come first-served order, giving up (timeout, abort, try),
// release by close(), and hand-over when the holding process is killed with SIGKILL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { AcquireTimeoutError, Lock, OwnershipLostError, OxiaClient, OxiaError, type OxiaClientOptions } from '../../../src/adapters/client/index.js';
import { startStandalone, type StandaloneProcess } from '../../support/standalone.js';
import { waitFor } from '../../support/wait.js';
import { rejects } from '../support/fake-client.js';
import { startContender } from './support.js';

const S = suite('Lock');
let server: StandaloneProcess;
const clients: OxiaClient[] = [];
const quiet = { warn: () => {} };
const fresh = () => `/locks/${randomUUID().slice(0, 8)}`;

async function connect(options: OxiaClientOptions = {}): Promise<OxiaClient> {
  const c = await OxiaClient.connect(server.address, { logger: quiet, sessionTimeoutMs: 2000, ...options });
  clients.push(c);
  return c;
}

/** The lock's records (holder and waiters), in queue order. */
async function tickets(client: OxiaClient, name: string): Promise<string[]> {
  return client.list(`${name}/`, `${name}//`, { partitionKey: name });
}

S.before(async () => {
  server = await startStandalone({ shards: 2 });
});
S.after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await server?.stop();
});

S('mutual exclusion: 8 contenders in 4 clients, 5 rounds each, never two holders, no lost update', async () => {
  const name = fresh();
  const counterKey = `${name}-counter`;
  const cs = await Promise.all(Array.from({ length: 4 }, () => connect()));
  await cs[0]!.put(counterKey, '0');
  // Two instances per client: they share the client's session, yet contend like strangers.
  const locks = cs.flatMap((c) => [new Lock(c, name), new Lock(c, name)]);
  let inside = 0;
  let overlaps = 0;
  const tokens: number[] = [];
  await Promise.all(
    locks.map(async (lock, i) => {
      const c = cs[Math.floor(i / 2)]!;
      for (let round = 0; round < 5; round++) {
        await lock.acquire({ timeoutMs: 60_000 });
        inside++;
        if (inside > 1) overlaps++;
        tokens.push(lock.fencingToken!);
        // An unguarded read-modify-write: any overlap would lose an increment.
        const current = Number(new TextDecoder().decode((await c.get(counterKey)).value));
        await c.put(counterKey, String(current + 1));
        inside--;
        await lock.release();
      }
    }),
  );
  assert.is(overlaps, 0, 'two holders at once');
  assert.is(new TextDecoder().decode((await cs[0]!.get(counterKey)).value), '40');
  assert.equal(tokens, [...tokens].sort((a, b) => a - b), 'fencing tokens increase with every holder');
  assert.equal(await tickets(cs[0]!, name), [], 'every record removed');
});

S('fairness: waiters get the lock in the order they asked', async () => {
  const name = fresh();
  const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, () => connect()));
  const holder = new Lock(a!, name);
  await holder.acquire();
  const order: string[] = [];
  const waiting: Promise<void>[] = [];
  for (const [label, client] of [['b', b!], ['c', c!], ['d', d!]] as const) {
    const lock = new Lock(client, name);
    const before = (await tickets(a!, name)).length;
    waiting.push(
      lock.acquire({ timeoutMs: 30_000 }).then(async () => {
        order.push(label);
        await lock.release();
      }),
    );
    // The next one asks only once this one's place is taken.
    await waitFor(async () => (await tickets(a!, name)).length === before + 1, `${label}'s place in the queue`);
  }
  assert.equal(order, [], 'nobody gets it while it is held');
  await holder.release();
  await Promise.all(waiting);
  assert.equal(order, ['b', 'c', 'd']);
});

S('giving up: timeout, abort and tryAcquire leave no record behind', async () => {
  const name = fresh();
  const [a, b] = await Promise.all([connect(), connect()]);
  const holder = new Lock(a!, name, { value: 'holder' });
  assert.is(await holder.tryAcquire(), true);
  assert.is(holder.isHeld, true);
  assert.is(new TextDecoder().decode((await a!.get(holder.key!, { partitionKey: name })).value), 'holder');

  const waiter = new Lock(b!, name);
  await rejects(() => waiter.acquire({ timeoutMs: 300 }), (e) => e instanceof AcquireTimeoutError, 'acquire with a timeout');
  assert.equal(await tickets(a!, name), [holder.key]);

  const abort = new AbortController();
  const aborted = waiter.acquire({ signal: abort.signal });
  await waitFor(async () => (await tickets(a!, name)).length === 2, 'the waiter in the queue');
  abort.abort(new Error('changed my mind'));
  await rejects(() => aborted, (e) => e instanceof Error && e.message === 'changed my mind', 'aborted acquire');
  assert.equal(await tickets(a!, name), [holder.key]);

  assert.is(await waiter.tryAcquire(), false);
  assert.is(waiter.isHeld, false);
  assert.equal(await tickets(a!, name), [holder.key]);
  await rejects(() => holder.acquire(), (e) => e instanceof Error && /already held/.test(e.message), 'not re-entrant');

  const signal = holder.signal!;
  await holder.release();
  assert.is(signal.aborted, true, "the holding's signal ends on release");
  assert.ok(!(signal.reason instanceof OwnershipLostError), 'a release is not a loss');
  assert.is(await waiter.tryAcquire(), true);
  await waiter.release();
});

S("the holder's record deleted by someone else: the holder is told, the next waiter gets the lock", async () => {
  const name = fresh();
  const [a, b, admin] = await Promise.all([connect(), connect(), connect()]);
  const holder = new Lock(a!, name);
  await holder.acquire();
  const lost: OwnershipLostError[] = [];
  holder.onLost((e) => lost.push(e));
  const signal = holder.signal!;
  const next = new Lock(b!, name);
  const acquired = next.acquire({ timeoutMs: 30_000 });
  await waitFor(async () => (await tickets(admin!, name)).length === 2, 'the waiter in the queue');
  await admin!.delete(holder.key!, { partitionKey: name });
  await acquired;
  await waitFor(() => lost.length === 1, 'the loss reported to the holder');
  assert.instance(signal.reason, OwnershipLostError);
  assert.is(holder.isHeld, false);
  assert.ok(next.fencingToken! > 0);
  await next.release();
});

S('close() of the holding client hands the lock over at once', async () => {
  const name = fresh();
  const a = await OxiaClient.connect(server.address, { logger: quiet, sessionTimeoutMs: 60_000 });
  const b = await connect();
  const holder = new Lock(a, name);
  await holder.acquire();
  const next = new Lock(b, name);
  const acquired = next.acquire({ timeoutMs: 30_000 });
  await waitFor(async () => (await tickets(b, name)).length === 2, 'the waiter in the queue');
  const started = Date.now();
  await a.close();
  await acquired;
  // Far below the holder's 60 s session timeout: close() ended the session.
  assert.ok(Date.now() - started < 30_000);
  assert.is(holder.isHeld, false);
  await next.release();
});

S('a holder process killed with SIGKILL: the next waiter gets the lock about one session timeout later', async () => {
  const name = fresh();
  const sessionTimeoutMs = 2000;
  const child = startContender(server.address, 'lock', name, sessionTimeoutMs);
  const childHeld = await child.waitFor('acquired');
  const b = await connect();
  const next = new Lock(b, name);
  let acquiredAt: number | undefined;
  const acquired = next.acquire({ timeoutMs: 60_000 }).then(() => (acquiredAt = Date.now()));
  await waitFor(async () => (await tickets(b, name)).length === 2, 'the waiter in the queue');
  assert.is(acquiredAt, undefined, 'not while the child holds it');
  const killedAt = Date.now();
  await child.kill9();
  await acquired;
  const handOverMs = (acquiredAt as number) - killedAt;
  assert.ok(handOverMs < sessionTimeoutMs + 5000, `handed over ${handOverMs} ms after the kill`);
  assert.ok(next.fencingToken! > (childHeld.fencingToken as number));
  assert.equal(await tickets(b, name), [next.key]);
  await next.release();
});

S.run();

const N = suite('Lock without notifications');
let plain: StandaloneProcess;
N.before(async () => {
  plain = await startStandalone({ extraArgs: ['--no-notifications-enabled'] });
});
N.after(async () => {
  await plain?.stop();
});

N('acquire fails at once with the typed error, and leaves no record', async () => {
  const c = await OxiaClient.connect(plain.address, { logger: quiet });
  try {
    const name = fresh();
    const lock = new Lock(c, name);
    await rejects(() => lock.acquire({ timeoutMs: 30_000 }), (e) => e instanceof OxiaError && e.kind === 'NotificationsNotEnabled', 'acquire');
    assert.is(lock.isHeld, false);
    assert.equal(await c.list(`${name}/`, `${name}//`, { partitionKey: name }), []);
  } finally {
    await c.close();
  }
});

N.run();
