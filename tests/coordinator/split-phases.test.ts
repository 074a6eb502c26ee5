// The split phase machine (ADR 0025) as pure status edits, the split of a hash range, the
// filter that decides what a child keeps, and the status JSON of a split.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeClusterStatus, encodeClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { assignmentsFromStatus } from '../../src/domain/coordinator/assignments-from-status.js';
import { abortSplit, beginSplit, commitSplit, recordFreeze, splitsInProgress } from '../../src/domain/coordinator/split.js';
import { findShard } from '../../src/domain/coordinator/status-edit.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import { sessionKey, shadowKey, indexEntryKey, notificationKey, LAST_VERSION_ID_KEY } from '../../src/domain/keys/internal-keys.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { defaultSplitPoint, splitRangeAt } from '../../src/domain/sharding/hash-range.js';
import { SplitKeyFilter } from '../../src/domain/sharding/split-filter.js';
import { NotificationBatch, NotificationType } from '../../src/domain/wire/client.js';
import { StorageEntry } from '../../src/domain/wire/storage.js';
import { nodes, statusOf, steadyShard } from './support/status-fixtures.js';

const key = { namespace: 'default', shard: 0n };

function oneShard(): ClusterStatus {
  const ensemble = nodes(3);
  return statusOf({ default: { 0: steadyShard(ensemble, ensemble[0], 2n) } });
}

test('a range splits at its middle by default, Oxia-style: the left child ends at the split point', () => {
  const full = { min: 0, max: 0xffff_ffff };
  assert.is(defaultSplitPoint(full), 0x7fff_ffff);
  assert.equal(splitRangeAt(full, 0x7fff_ffff), [
    { min: 0, max: 0x7fff_ffff },
    { min: 0x8000_0000, max: 0xffff_ffff },
  ]);
  assert.is(splitRangeAt({ min: 10, max: 20 }, 20), undefined, 'the right child would be empty');
  assert.is(splitRangeAt({ min: 10, max: 20 }, 9), undefined);
  assert.ok(splitRangeAt({ min: 10, max: 11 }, 10));
});

test('Bootstrap records both children, unrouted, on the parent ensemble; a second split is refused', () => {
  const status = oneShard();
  const { status: next, children } = beginSplit(status, key, undefined);
  assert.equal(children, [status.shardIdGenerator, status.shardIdGenerator + 1n]);
  assert.is(next.shardIdGenerator, status.shardIdGenerator + 2n);
  const parent = findShard(next, key)!;
  assert.is(parent.split?.phase, 'Bootstrap');
  assert.equal(parent.split?.childShardIds, [...children]);
  for (const id of children) {
    const child = findShard(next, { namespace: 'default', shard: id })!;
    assert.is(child.split?.parentShardId, 0n);
    assert.equal(child.ensemble, parent.ensemble);
    assert.is(child.leader, undefined);
  }
  const routed = assignmentsFromStatus(next, [], []).namespaces['default']!.assignments.map((a) => a.shard);
  assert.equal(routed, [0n], 'clients still go to the parent only');
  assert.throws(() => beginSplit(next, key, undefined), (e: unknown) => e instanceof OxiaError && e.kind === 'FailedPrecondition');
  assert.throws(() => beginSplit(status, key, 0xffff_ffff), (e: unknown) => e instanceof OxiaError && e.kind === 'InvalidArgument');
  assert.throws(() => beginSplit(status, { namespace: 'default', shard: 9n }, undefined), (e: unknown) => e instanceof OxiaError && e.kind === 'NotFound');
});

test('CatchUp records the freeze; the commit needs the parent still at the frozen term', () => {
  const { status } = beginSplit(oneShard(), key, undefined);
  const running = splitsInProgress(status)[0]!;
  assert.is(recordFreeze(status, running, 1n, 50n), undefined, 'a freeze at another term than the parent is not recorded');
  const frozen = recordFreeze(status, running, 2n, 50n)!;
  assert.is(findShard(frozen, key)!.split?.phase, 'CatchUp');
  assert.is(findShard(frozen, key)!.split?.snapshotOffset, 50n);
  assert.is(commitSplit(status, running, 2n), undefined, 'no commit before the freeze is recorded');
  // The parent was re-elected after the freeze: it may have taken writes the copies lack.
  const reelected = { ...frozen, namespaces: new Map(frozen.namespaces) };
  const parent = findShard(frozen, key)!;
  const ns = frozen.namespaces.get('default')!;
  reelected.namespaces.set('default', { ...ns, shards: new Map(ns.shards).set(0n, { ...parent, term: 3n }) });
  assert.is(commitSplit(reelected, running, 2n), undefined);

  const committed = commitSplit(frozen, running, 2n)!;
  assert.is(findShard(committed, key)!.status, 'Deleting');
  assert.is(findShard(committed, key)!.split?.phase, 'Cutover');
  for (const child of running.children) {
    const c = findShard(committed, child)!;
    assert.is(c.status, 'Election');
    assert.is(c.split, undefined);
  }
  assert.equal(splitsInProgress(committed), [], 'nothing left to drive');
  const routed = assignmentsFromStatus(committed, [], []).namespaces['default']!.assignments.map((a) => a.shard);
  assert.equal(routed, [...running.children.map((c) => c.shard)], 'clients go to the children only');
  assert.is(abortSplit(committed, running), undefined, 'no way back after the commit');
});

test('rolling a split back before the commit: the parent keeps its range and needs a new term, the children are deleted', () => {
  const original = oneShard();
  const { status } = beginSplit(original, key, undefined);
  const running = splitsInProgress(status)[0]!;
  const aborted = abortSplit(recordFreeze(status, running, 2n, 7n)!, running)!;
  assert.equal(findShard(aborted, key), { ...findShard(original, key)!, status: 'Election' }, 'the parent as it was, to be elected anew (its freeze ends with its term)');
  for (const child of running.children) {
    const c = findShard(aborted, child)!;
    assert.is(c.status, 'Deleting', 'the copies on the nodes are deleted');
    assert.is(c.split, undefined);
  }
  assert.equal(splitsInProgress(aborted), [], 'nothing left to drive');
  const routed = assignmentsFromStatus(aborted, [], []).namespaces['default']!.assignments.map((a) => a.shard);
  assert.equal(routed, [0n], 'clients go to the parent only');
});

test('the status JSON of a split round-trips with Oxia field names', () => {
  const { status } = beginSplit(oneShard(), key, undefined);
  const frozen = recordFreeze(status, splitsInProgress(status)[0]!, 2n, 50n)!;
  const json = encodeClusterStatus(frozen);
  assert.match(json, /"split":\{"phase":"CatchUp","parentShardId":0,"childShardIds":\[\d+,\d+\],"splitPoint":2147483647,"snapshotOffset":50,"parentTermAtBootstrap":2\}/);
  assert.equal(decodeClusterStatus(json), frozen);
});

test('a child keeps its records, their index entries and shadows, every session, the scalars, and its notifications', () => {
  const enc = keyEncoder('hierarchical');
  const range = { min: 0, max: 0x7fff_ffff };
  const inside: string[] = [];
  const outside: string[] = [];
  for (let i = 0; inside.length < 3 || outside.length < 3; i++) (routingHash(`/k/${i}`) <= range.max ? inside : outside).push(`/k/${i}`);
  const record = (partitionKey?: string) => StorageEntry.encode({ ...StorageEntry.fromPartial({ value: Buffer.from([1]) }), partitionKey }).finish();
  const filter = new SplitKeyFilter(range, enc);
  const keep = (k: string, value = new Uint8Array()) => filter.copy(enc.encode(k), value) !== undefined;
  // Store order: user records first.
  assert.ok(keep(inside[0]!, record()));
  assert.not.ok(keep(outside[0]!, record()));
  // A record routed by its partition key follows the partition key, not its own key.
  const pkInside = inside[1]!;
  assert.ok(keep(outside[1]!, record(pkInside)), 'routed by the partition key');
  assert.ok(keep(indexEntryKey('idx', 's', inside[0]!)));
  assert.not.ok(keep(indexEntryKey('idx', 's', outside[0]!)));
  assert.ok(keep(LAST_VERSION_ID_KEY));
  // Notification batches are cut down to the keys the child owns: a record's key follows the
  // record (its partition key); a key gone from the store follows its own hash.
  const created = { type: NotificationType.KEY_CREATED, versionId: 1n };
  const batch = (...keys: string[]) =>
    NotificationBatch.encode({ shard: 0n, offset: 5n, timestamp: 9n, notifications: keys.map((key) => ({ key, value: created })) }).finish();
  const deletedInside = inside[2]!;
  const deletedOutside = outside[2]!;
  const cut = filter.copy(enc.encode(notificationKey(5n)), batch(inside[0]!, outside[0]!, outside[1]!, deletedInside, deletedOutside));
  assert.ok(cut !== undefined);
  const kept = NotificationBatch.decode(cut);
  assert.equal(kept.notifications.map((n) => n.key).sort(), [inside[0]!, outside[1]!, deletedInside].sort());
  assert.is(kept.offset, 5n, 'at the parent offset');
  assert.is(filter.copy(enc.encode(notificationKey(6n)), batch(outside[0]!, deletedOutside)), undefined, 'a batch with nothing of the child is left out');
  assert.ok(keep(sessionKey(42n)), 'sessions live on in both children');
  assert.ok(keep(shadowKey(42n, inside[0]!)));
  assert.not.ok(keep(shadowKey(42n, outside[0]!)));
});

test.run();
