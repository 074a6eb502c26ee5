// The automatic split's decision (ADR 0025) as pure functions, and Oxia's `autoSplit` section of
// the cluster config with its defaults: which shards are sampled, how a rate comes from two
// samples of one leader, the stabilization period, one split at a time, the cooldown, the cap
// on shards per namespace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseClusterConfigYaml } from '../../src/adapters/cluster-config/cluster-config-yaml.js';
import { DEFAULT_AUTO_SPLIT, type AutoSplitConfig } from '../../src/domain/cluster/cluster-config.js';
import {
  autoSplitBlocked,
  autoSplitCandidates,
  overshootRatio,
  rankAutoSplits,
  trackSample,
  type ShardSample,
  type ShardTracker,
} from '../../src/domain/coordinator/auto-split.js';
import { beginSplit } from '../../src/domain/coordinator/split.js';
import { shardLabel, type ShardKey } from '../../src/domain/coordinator/status-edit.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { nodes, statusOf, steadyShard } from './support/status-fixtures.js';

const MB = 1024n * 1024n;
const ON: AutoSplitConfig = { ...DEFAULT_AUTO_SPLIT, enabled: true, maxShardSizeMb: 10, maxThroughputOps: 100, stabilizationPeriodMs: 1_000, cooldownPeriodMs: 5_000 };
const ensemble = nodes(3);

function sample(atMs: number, sizeMb: bigint, ops = 0n, leader = 'n0'): ShardSample {
  return { leader, dbSizeBytes: sizeMb * MB, readOpsTotal: ops, writeOpsTotal: ops, atMs };
}

const SERVERS = `servers:\n  - {public: "a:1", internal: "a:2"}\nnamespaces: [{name: default, initialShardCount: 1, replicationFactor: 1}]\n`;

test("autoSplit in the cluster config: off by default, Oxia's defaults, its field names", () => {
  assert.equal(parseClusterConfigYaml(SERVERS, 't.yaml', { serversRequired: true }).autoSplit, DEFAULT_AUTO_SPLIT);
  assert.is(DEFAULT_AUTO_SPLIT.enabled, false);
  const c = parseClusterConfigYaml(
    `${SERVERS}autoSplit:\n  enabled: true\n  maxShardSizeMb: 512\n  maxThroughputOps: 0\n  stabilizationPeriod: 0s\n  cooldownPeriod: 10m\n  maxShardsPerNamespace: 8\n  collectionInterval: 500ms\n`,
    't.yaml',
    { serversRequired: true },
  ).autoSplit;
  assert.equal(c, {
    enabled: true,
    maxShardSizeMb: 512,
    maxThroughputOps: 10_000, // zero takes the default, as in Oxia
    stabilizationPeriodMs: 0, // an explicit zero period stays zero
    cooldownPeriodMs: 600_000,
    maxShardsPerNamespace: 8,
    collectionIntervalMs: 500,
  });
  try {
    parseClusterConfigYaml(`${SERVERS}autoSplit: {enabled: yes please, cooldownPeriod: 5min}\n`, 't.yaml', { serversRequired: true });
    assert.unreachable('a bad autoSplit section is refused');
  } catch (e) {
    assert.ok(isOxiaError(e, 'InvalidArgument'));
    assert.match((e as Error).message, /autoSplit\.enabled/);
    assert.match((e as Error).message, /autoSplit\.cooldownPeriod/);
  }
});

test('only led, steady shards outside a split and below the per-namespace cap are sampled', () => {
  const status = statusOf({ default: { 0: steadyShard(ensemble, ensemble[0], 2n), 1: { ...steadyShard(ensemble, ensemble[1], 1n), status: 'Election' } } });
  assert.equal(
    autoSplitCandidates(status, ON).map((c) => c.key.shard),
    [0n],
  );
  assert.equal(autoSplitCandidates(status, { ...ON, maxShardsPerNamespace: 2 }), [], 'the namespace is at its cap');
  const splitting = beginSplit(status, { namespace: 'default', shard: 0n }, undefined).status;
  assert.equal(autoSplitCandidates(splitting, ON), [], 'the parent and its children are left alone');
});

test('disabled, a split running, or the cooldown: no split starts', () => {
  const status = statusOf({ default: { 0: steadyShard(ensemble, ensemble[0], 2n) } });
  assert.match(autoSplitBlocked(status, DEFAULT_AUTO_SPLIT, 0, undefined) ?? '', /disabled/);
  assert.is(autoSplitBlocked(status, ON, 10_000, undefined), undefined);
  assert.match(autoSplitBlocked(status, ON, 10_000, 6_000) ?? '', /cooling down/);
  assert.is(autoSplitBlocked(status, ON, 11_000, 6_000), undefined, 'the cooldown is over');
  const splitting = beginSplit(status, { namespace: 'default', shard: 0n }, undefined).status;
  assert.match(autoSplitBlocked(splitting, ON, 10_000, undefined) ?? '', /being split/, 'one split at a time');
});

test('a rate needs two samples of the same leader whose counters did not go back', () => {
  let t = trackSample(undefined, sample(0, 1n, 0n), ON);
  assert.is(t.throughputOps, 0);
  t = trackSample(t, sample(2_000, 1n, 150n), ON);
  assert.is(t.throughputOps, 150, '300 operations in 2 s');
  assert.ok(t.exceedingSinceMs === 2_000, 'over 100 ops/s from then');
  const otherLeader = trackSample(t, sample(3_000, 1n, 400n, 'n1'), ON);
  assert.is(otherLeader.throughputOps, 0, 'another process: no rate across leaders');
  assert.is(otherLeader.exceedingSinceMs, undefined);
  const restarted = trackSample(t, sample(3_000, 1n, 5n), ON);
  assert.is(restarted.throughputOps, 0, 'counters reset: no rate');
});

test('a shard over a threshold is split after the stabilization period, the most overloaded first', () => {
  assert.is(overshootRatio(20n * MB, 0, ON), 2);
  assert.is(overshootRatio(1n * MB, 300, ON), 3);
  const trackers = new Map<string, { key: ShardKey; tracker: ShardTracker }>();
  const put = (shard: bigint, tracker: ShardTracker): void => {
    const key = { namespace: 'default', shard };
    trackers.set(shardLabel(key), { key, tracker });
  };
  let big = trackSample(undefined, sample(0, 15n), ON);
  let bigger = trackSample(undefined, sample(0, 30n), ON);
  const small = trackSample(undefined, sample(0, 5n), ON);
  put(0n, big);
  put(1n, bigger);
  put(2n, small);
  assert.equal(rankAutoSplits(trackers, ON, 500), [], 'not over long enough');
  big = trackSample(big, sample(1_000, 15n), ON);
  bigger = trackSample(bigger, sample(1_000, 30n), ON);
  put(0n, big);
  put(1n, bigger);
  assert.equal(
    rankAutoSplits(trackers, ON, 1_000).map((c) => c.key.shard),
    [1n, 0n],
  );
  const dipped = trackSample(big, sample(1_500, 5n), ON);
  assert.is(dipped.exceedingSinceMs, undefined, 'back under the threshold: the period starts again');
  assert.ok(trackSample(dipped, sample(2_000, 15n), ON).exceedingSinceMs === 2_000);
});

test.run();
