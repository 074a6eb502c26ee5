// Followers learn the commit offset promptly also when writes stop (ADR 0016, fifth pass): the
// leader holds a new commit offset at the head for the next entry to carry, and sends it alone
// once COMMIT_NOTICE_DELAY_MS passed without one. Run on simulated time, so "promptly" is
// exact: each follower must have applied an isolated write well before the next lease probe
// (every 100 ms, which also carries the commit offset) could have told it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Incarnation } from '../../src/adapters/simulation/virtual-time.js';
import { COMMIT_NOTICE_DELAY_MS } from '../../src/application/shard/follower-cursor.js';
import { Status } from '../../src/domain/wire/client.js';
import { ServingStatus } from '../../src/domain/wire/replication.js';
import { outcomeWithin } from './outcome-within.js';
import { NAMESPACE, SimWorld } from './sim-world.js';

const SHARD = 0n;
const CLIENT = 'client';
const CALL_TIMEOUT_MS = 2_000;
/** The network delivers within this much simulated time. */
const MAX_DELAY_MS = 2;
/** How long after an acknowledged write both followers must have applied it: far below the probe interval. */
const NOTICE_WITHIN_MS = COMMIT_NOTICE_DELAY_MS + 4 * MAX_DELAY_MS;

test('an isolated write reaches every follower\'s store within the commit notice delay, not at the next probe', async () => {
  const world = new SimWorld({
    seed: 11,
    nodes: 3,
    shards: 1,
    disk: { fsyncFailure: 0, storeCheckpoint: 0.3 },
    network: { minDelayMs: 0.1, maxDelayMs: MAX_DELAY_MS, drop: 0, duplicate: 0 },
  });
  const life = new Incarnation(CLIENT);
  const call = async <T>(node: string, fn: Parameters<typeof world.network.unary<T>>[3], what: string): Promise<T> => {
    const outcome = await outcomeWithin((m, done) => world.runFor(m, done), CALL_TIMEOUT_MS, world.network.unary(CLIENT, life, node, fn, CALL_TIMEOUT_MS));
    assert.ok(outcome !== 'pending' && 'value' in outcome, `${what}: ${outcome === 'pending' ? 'no answer' : String((outcome as { error: unknown }).error)}`);
    return (outcome as { value: T }).value;
  };
  const shardStatus = () => world.status.latest()?.namespaces.get(NAMESPACE)?.shards.get(SHARD);
  try {
    await world.start();
    await world.runFor(20_000, () => shardStatus()?.status === 'SteadyState' && shardStatus()?.leader !== undefined);
    const leader = shardStatus()?.leader;
    assert.ok(leader, 'the shard has a leader');
    const followers = world.nodes.map((n) => n.address.internal).filter((a) => a !== leader.internal);
    assert.is(followers.length, 2);
    for (let i = 0; i < 6; i++) {
      // Spaced so that the writes fall at different points between two probes.
      await world.runFor(37);
      await call(leader.internal, async (s) => {
        const r = await s.client.write(SHARD, { shard: SHARD, puts: [{ key: `/k${i}`, value: Buffer.from(`v${i}`), sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] }, NAMESPACE);
        assert.is(r.puts[0]?.status, Status.OK, `put /k${i}`);
      }, `put /k${i}`);
      const acknowledgedAt = world.now();
      const written = await call(leader.internal, (s) => s.coordination.getStatus({ shard: SHARD }), 'leader status');
      assert.is(written.status, ServingStatus.LEADER);
      // A status answer shows the follower at most MAX_DELAY_MS after it was asked.
      await world.runFor(NOTICE_WITHIN_MS);
      for (const f of followers) {
        const s = await call(f, (n) => n.coordination.getStatus({ shard: SHARD }), `status of ${f}`);
        assert.is(s.status, ServingStatus.FOLLOWER);
        assert.ok(
          s.commitOffset >= written.commitOffset,
          `follower ${f} applied up to ${s.commitOffset}, not ${written.commitOffset}, ${world.now() - acknowledgedAt} ms after write ${i} was acknowledged`,
        );
      }
    }
  } catch (e) {
    console.log(world.log.tail(60).join('\n'));
    throw e;
  }
});

test.run();
