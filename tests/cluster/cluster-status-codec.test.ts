import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStatus, ShardMetadata } from '../../src/domain/cluster/cluster-status.js';
import { emptyClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import {
  clusterStatusProblems,
  decodeClusterStatus,
  decodeStoredClusterStatus,
  encodeClusterStatus,
  encodeStoredClusterStatus,
} from '../../src/domain/cluster/cluster-status-codec.js';
import { parseJson, stringifyJson } from '../../src/domain/cluster/json-int64.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';

const n1 = { public: 'n1:6648', internal: 'n1:6649' };
const n2 = { public: 'n2:6648', internal: 'n2:6649' };
const n3 = { public: 'n3:6648', internal: 'n3:6649' };

function shard(over: Partial<ShardMetadata> = {}): ShardMetadata {
  return {
    status: 'SteadyState',
    term: 0n,
    leader: n1,
    ensemble: [n1, n2, n3],
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: { min: 0, max: 4294967295 },
    ...over,
  };
}

function statusWith(shards: [bigint, ShardMetadata][], gen = 1n, ns = 'default'): ClusterStatus {
  return { namespaces: new Map([[ns, { replicationFactor: 3, shards: new Map(shards) }]]), shardIdGenerator: gen, serverIdx: 0 };
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isOxiaError(e, 'InvalidArgument'), `expected an InvalidArgument OxiaError, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable('expected an error');
}

test('writes exactly the seed format', () => {
  const text = encodeStoredClusterStatus(statusWith([[0n, shard()]]), '6');
  assert.is(
    text,
    '{"clusterStatus":{"namespaces":{"default":{"replicationFactor":3,"shards":{"0":{"status":"SteadyState","term":0,' +
      '"leader":{"public":"n1:6648","internal":"n1:6649"},"ensemble":[{"public":"n1:6648","internal":"n1:6649"},' +
      '{"public":"n2:6648","internal":"n2:6649"},{"public":"n3:6648","internal":"n3:6649"}],' +
      '"int32HashRange":{"min":0,"max":4294967295}}}}},"shardIdGenerator":1,"serverIdx":0},"version":"6"}',
  );
});

test('round trip keeps every field, including optional ones', () => {
  const status: ClusterStatus = {
    namespaces: new Map([
      [
        'ns-a',
        {
          replicationFactor: 3,
          shards: new Map([
            [0n, shard({ int32HashRange: { min: 0, max: 2147483647 } })],
            [1n, shard({ status: 'Election', term: 7n, int32HashRange: { min: 2147483648, max: 4294967295 }, removedNodes: [n3], ensemble: [n1, n2] })],
          ]),
        },
      ],
      [
        'ns-b',
        {
          replicationFactor: 1,
          shards: new Map([[2n, shard({ status: 'Unknown', term: -1n, ensemble: [{ name: 'node-x', ...n2 }], pendingDeleteShardNodes: [n1] })]]),
        },
      ],
    ]),
    shardIdGenerator: 3n,
    serverIdx: 5,
  };
  const { leader: _, ...noLeader } = status.namespaces.get('ns-b')!.shards.get(2n)!;
  const withoutLeader: ClusterStatus = {
    ...status,
    namespaces: new Map([...status.namespaces, ['ns-b', { replicationFactor: 1, shards: new Map([[2n, noLeader as ShardMetadata]]) }]]),
  };
  for (const s of [status, withoutLeader]) {
    const back = decodeStoredClusterStatus(encodeStoredClusterStatus(s, '41'));
    assert.is(back.version, '41');
    assert.equal(back.status, s);
    assert.equal(decodeClusterStatus(encodeClusterStatus(s)), s);
  }
  const text = encodeClusterStatus(withoutLeader);
  assert.not.match(text.slice(text.indexOf('"ns-b"')), /"leader"/, 'a shard without a leader has no leader key');
  assert.match(text, /"removedNodes":\[\{"public":"n3:6648","internal":"n3:6649"\}\]/);
  assert.match(text, /"ensemble":\[\{"name":"node-x","public":"n2:6648"/);
});

test('terms and shard ids beyond 2^53 stay exact', () => {
  const big = (1n << 62n) + 1n;
  const s = statusWith([[big - 5n, shard({ term: big })]], big);
  const text = encodeStoredClusterStatus(s, '0');
  assert.ok(text.includes(`"term":${big}`), 'the term is a JSON number with every digit');
  assert.ok(text.includes(`"shardIdGenerator":${big}`));
  const back = decodeStoredClusterStatus(text);
  assert.is(back.status.shardIdGenerator, big);
  assert.is(back.status.namespaces.get('default')!.shards.get(big - 5n)!.term, big);
});

test('reads what Go and protojson writers produce', () => {
  const go =
    '{"clusterStatus":{"namespaces":{"default":{"replicationFactor":1,"shards":{"0":{"status":"Unknown","term":-1,' +
    '"leader":null,"ensemble":[{"name":null,"public":"a:1","internal":"a:2"}],"removedNodes":null,"pendingDeleteShardNodes":null,' +
    '"int32HashRange":{"min":0,"max":4294967295}}}}},"shardIdGenerator":1,"serverIdx":1},"version":"0"}';
  const fromGo = decodeStoredClusterStatus(go).status.namespaces.get('default')!.shards.get(0n)!;
  assert.equal(fromGo, {
    status: 'Unknown',
    term: -1n,
    ensemble: [{ public: 'a:1', internal: 'a:2' }],
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: { min: 0, max: 4294967295 },
  });
  const proto = '{"namespaces":{"default":{"replicationFactor":1,"shards":{"0":{"status":"ShardStatusUnknown","term":"12","ensemble":[{"public":"a:1","internal":"a:2"}],"int32HashRange":{"max":4294967295}}}}},"shardIdGenerator":"1"}';
  const fromProto = decodeClusterStatus(proto);
  assert.is(fromProto.namespaces.get('default')!.shards.get(0n)!.term, 12n);
  assert.is(fromProto.namespaces.get('default')!.shards.get(0n)!.status, 'Unknown');
  assert.is(fromProto.serverIdx, 0);
  assert.equal(decodeClusterStatus('{}'), emptyClusterStatus());
});

test('invalid input is refused with errors that name the field', () => {
  assertInvalid(() => decodeStoredClusterStatus('{"clusterStatus":'), /not valid JSON: unexpected end of input at position 17/);
  assertInvalid(() => decodeStoredClusterStatus('{"clusterStatus":{},"version":"1","clusterStatus":{}}'), /duplicate key "clusterStatus"/);
  assertInvalid(() => decodeStoredClusterStatus('{"clusterStatus":{}}'), /version: expected a version/);
  assertInvalid(() => decodeStoredClusterStatus('[]'), /expected an object, got an array/);
  const good = encodeStoredClusterStatus(statusWith([[0n, shard()]]), '3');
  const mutate = (from: string, to: string): string => {
    assert.ok(good.includes(from), from);
    return good.replace(from, to);
  };
  assertInvalid(() => decodeStoredClusterStatus(mutate('"status":"SteadyState"', '"status":"Leading"')), /clusterStatus\.namespaces\.default\.shards\.0\.status: expected one of Unknown, SteadyState, Election, Deleting, got "Leading"/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"term":0', '"term":1.5')), /shards\.0\.term: expected an integer, got a number/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"term":0', '"term":9223372036854775808')), /shards\.0\.term: 9223372036854775808 is out of range/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"max":4294967295', '"max":4294967296')), /int32HashRange\.max: 4294967296 is out of range/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"min":0,"max":4294967295', '"min":5,"max":4')), /int32HashRange: \[5, 4\] is not a range of 32-bit hashes/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"shards":{"0"', '"shards":{"x"')), /shards\.x: a shard id must be a non-negative 64-bit integer/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"shardIdGenerator":1', '"shardIdGenerator":0')), /shard id is not below shardIdGenerator/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"internal":"n1:6649"}', '"internal":""}')), /leader\.internal: expected a non-empty string/);
  assertInvalid(() => decodeStoredClusterStatus(mutate('"replicationFactor":3', '"replicationFactor":3,"owner":"me"')), /namespaces\.default\.owner: unknown field/);
  // Several problems are reported together.
  assertInvalid(() => decodeStoredClusterStatus(mutate('"term":0', '"term":"x"').replace('"serverIdx":0', '"serverIdx":-1')), /term: expected an integer.*; .*serverIdx: -1 is out of range/);
});

test('a shard id used twice across namespaces is refused, also on write', () => {
  const status: ClusterStatus = {
    namespaces: new Map([
      ['a', { replicationFactor: 1, shards: new Map([[0n, shard({ ensemble: [n1] })]]) }],
      ['b', { replicationFactor: 1, shards: new Map([[0n, shard({ ensemble: [n1] })]]) }],
    ]),
    shardIdGenerator: 1n,
    serverIdx: 0,
  };
  assert.equal(clusterStatusProblems(status), ['namespaces.b.shards.0: shard id already used in namespace a']);
  assertInvalid(() => encodeClusterStatus(status), /refusing to write an invalid cluster status: namespaces\.b\.shards\.0: shard id already used/);
  assertInvalid(() => encodeClusterStatus(statusWith([[0n, shard({ ensemble: [n1, n1] })]])), /ensemble: a node is listed twice/);
});

test('the JSON reader keeps integers exact and refuses what JSON does not allow', () => {
  const v = parseJson(' {"a":[1,-2,3.5,1e3,"x\\u0041",true,false,null],"b":{}} ');
  assert.is(stringifyJson(v), '{"a":[1,-2,3.5,1000,"xA",true,false,null],"b":{}}');
  assert.is(parseJson('18446744073709551615'), 18446744073709551615n);
  for (const bad of ['', '01', '[1,]', '{"a" 1}', '"\u0001"', 'nul', '[1] 2', '{"__proto__":1,"__proto__":2}', '-']) {
    assert.throws(() => parseJson(bad), /position/, bad);
  }
  assert.throws(() => parseJson('['.repeat(100) + ']'.repeat(100)), /nesting deeper than 64/);
});

test.run();
