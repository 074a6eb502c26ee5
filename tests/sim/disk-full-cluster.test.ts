// A full disk and an I/O error on the leader of a 3-node cluster, injected without a mount
// (ADR 0029): the real StorageNodes (replica controllers, log pipeline, WriteRecovery) and
// the real Coordinator on the simulator's disks and network. The leader whose disk refuses
// writes fails the write with the cause, steps down and reports its node unhealthy, so
// another replica is elected and takes writes; once its disk takes writes again, the node
// reopens its files by itself and follows again, caught up; no acknowledged write is lost.
// The same as tests/cluster/disk-full.test.ts, which needs tmpfs mounts and skips without.
import { status as GrpcCode } from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorToStatus } from '../../src/adapters/grpc/status-mapping.js';
import { parseGrpcError } from '../../src/adapters/grpc-protocol/error-status.js';
import type { WriteFailure } from '../../src/adapters/simulation/sim-disk.js';
import { Incarnation } from '../../src/adapters/simulation/virtual-time.js';
import { KeyComparisonType, Status } from '../../src/domain/wire/client.js';
import { ServingStatus } from '../../src/domain/wire/replication.js';
import { outcomeWithin, type Outcome } from './outcome-within.js';
import { NAMESPACE, SimWorld } from './sim-world.js';

const SHARD = 0n;
const CLIENT = 'client';
const CALL_TIMEOUT_MS = 2_000;
/** A write that fails must fail within this much simulated time, not wait out the call's deadline. */
const FAST_MS = 1_000;

/** What `call` came to within `ms` of simulated time, the world running meanwhile. */
function within<T>(world: SimWorld, ms: number, call: Promise<T>): Promise<Outcome<T>> {
  return outcomeWithin((m, done) => world.runFor(m, done), ms, call);
}

function shardStatus(world: SimWorld) {
  return world.status.latest()?.namespaces.get(NAMESPACE)?.shards.get(SHARD);
}

async function cannotWrite(failure: WriteFailure, reason: string, code: GrpcCode): Promise<void> {
  const world = new SimWorld({
    seed: 29,
    nodes: 3,
    shards: 1,
    disk: { fsyncFailure: 0, storeCheckpoint: 0.3 },
    network: { minDelayMs: 0.1, maxDelayMs: 3, drop: 0, duplicate: 0 },
  });
  const life = new Incarnation(CLIENT);
  const put = (node: string, key: string, value: string): Promise<void> =>
    world.network.unary(
      CLIENT,
      life,
      node,
      async (s) => {
        const r = await s.client.write(SHARD, { shard: SHARD, puts: [{ key, value: Buffer.from(value), sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] }, NAMESPACE);
        if (r.puts[0]?.status !== Status.OK) throw new Error(`put ${key}: status ${r.puts[0]?.status}`);
      },
      CALL_TIMEOUT_MS,
    );
  const get = (node: string, key: string): Promise<string | undefined> =>
    world.network.unary(CLIENT, life, node, async (s, signal) => {
      for await (const response of s.client.read(SHARD, { shard: SHARD, gets: [{ key, includeValue: true, comparisonType: KeyComparisonType.EQUAL }] }, signal)) {
        const got = response.gets[0];
        if (got?.status === Status.KEY_NOT_FOUND) return undefined;
        if (got?.status !== Status.OK) throw new Error(`get ${key}: status ${got?.status}`);
        return Buffer.from(got.value ?? []).toString();
      }
      throw new Error(`get ${key}: no answer`);
    }, CALL_TIMEOUT_MS);
  const status = (node: string) => world.network.unary(CLIENT, life, node, (s) => s.coordination.getStatus({ shard: SHARD }), CALL_TIMEOUT_MS);
  const expectOk = async <T>(call: Promise<T>, what: string): Promise<T> => {
    const outcome = await within(world, CALL_TIMEOUT_MS, call);
    assert.ok(outcome !== 'pending' && 'value' in outcome, `${what}: ${outcome === 'pending' ? 'no answer' : String((outcome as { error: unknown }).error)}`);
    return (outcome as { value: T }).value;
  };

  try {
    await world.start();
    await world.runFor(20_000, () => shardStatus(world)?.status === 'SteadyState' && shardStatus(world)?.leader !== undefined);
    const first = shardStatus(world);
    assert.ok(first?.leader, 'the shard has a leader');
    const victim = world.nodes.find((n) => n.address.internal === first.leader!.internal)!;
    const acked = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      await expectOk(put(victim.address.internal, `/before/${i}`, `b${i}`), `put /before/${i}`);
      acked.set(`/before/${i}`, `b${i}`);
    }

    victim.disk.failWrites(failure);
    const failed = await within(world, FAST_MS, put(victim.address.internal, '/failed', 'x'));
    assert.ok(failed !== 'pending', `the write the leader cannot make durable fails within ${FAST_MS} ms`);
    assert.ok('error' in failed, 'the write fails');
    const wire = parseGrpcError(errorToStatus(failed.error, (e) => assert.unreachable(`not a typed error: ${String(e)}`)));
    assert.is(wire.reason, reason, wire.message);
    assert.is(wire.code, code);

    await world.runFor(FAST_MS, () => victim.health?.serving === false);
    assert.is(victim.health?.serving, false, 'the node that cannot write reports itself unhealthy');

    // Another replica leads and takes writes.
    await world.runFor(30_000, () => {
      const s = shardStatus(world);
      return s?.status === 'SteadyState' && s.leader !== undefined && s.leader.internal !== victim.address.internal;
    });
    const moved = shardStatus(world)?.leader;
    assert.ok(moved && moved.internal !== victim.address.internal, 'another replica was elected');
    for (let i = 0; i < 10; i++) {
      await expectOk(put(moved.internal, `/moved/${i}`, `m${i}`), `put /moved/${i} on the new leader`);
      acked.set(`/moved/${i}`, `m${i}`);
    }

    // While its disk still refuses, the node stays unhealthy.
    await world.runFor(20_000);
    assert.is(victim.health?.serving, false, 'still unhealthy while its disk refuses writes');

    victim.disk.writesWork();
    await world.runFor(10_000, () => victim.health?.serving === true);
    assert.is(victim.health?.serving, true, 'healthy again once its disk takes writes, without a restart');
    assert.ok(world.log.tail(3_000).some((l) => l.includes('shard writes again') && l.includes(`"process":"${victim.address.name}#`)), 'it reopened its files');

    // It follows again, caught up with the leader.
    const leader = shardStatus(world)!.leader!;
    for (let i = 0; i < 5; i++) {
      await expectOk(put(leader.internal, `/after/${i}`, `a${i}`), `put /after/${i}`);
      acked.set(`/after/${i}`, `a${i}`);
    }
    if (leader.internal !== victim.address.internal) {
      let caughtUp = false;
      for (let i = 0; i < 60 && !caughtUp; i++) {
        const [l, f] = await Promise.all([expectOk(status(leader.internal), 'leader status'), expectOk(status(victim.address.internal), 'recovered node status')]);
        caughtUp = l.status === ServingStatus.LEADER && f.status === ServingStatus.FOLLOWER && f.term === l.term && f.headOffset === l.headOffset;
        if (!caughtUp) await world.runFor(500);
      }
      assert.ok(caughtUp, 'the recovered node follows, caught up');
    }
    for (const [key, value] of acked) assert.is(await expectOk(get(leader.internal, key), `get ${key}`), value, `acknowledged ${key} is there`);
  } catch (e) {
    console.log(world.log.tail(80).join('\n'));
    throw e;
  }
}

test('ENOSPC on the leader log: DISK_FULL, another leads, the node rejoins caught up once writes work', () =>
  cannotWrite({ errno: 'ENOSPC', files: 'log', store: 'sqlite' }, 'DISK_FULL', GrpcCode.RESOURCE_EXHAUSTED));
test('ENOSPC on the leader store (SQLITE_FULL): DISK_FULL, another leads, the node rejoins caught up once writes work', () =>
  cannotWrite({ errno: 'ENOSPC', files: 'store', store: 'sqlite' }, 'DISK_FULL', GrpcCode.RESOURCE_EXHAUSTED));
test('EIO on the leader store (LevelDB): STORAGE_FAILED, another leads, the node rejoins caught up once writes work', () =>
  cannotWrite({ errno: 'EIO', files: 'store', store: 'level' }, 'STORAGE_FAILED', GrpcCode.UNAVAILABLE));
test('EIO on the leader log: STORAGE_FAILED, another leads, the node rejoins caught up once writes work', () =>
  cannotWrite({ errno: 'EIO', files: 'log', store: 'sqlite' }, 'STORAGE_FAILED', GrpcCode.UNAVAILABLE));

test.run();
