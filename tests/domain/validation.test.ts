import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseConfig } from '../../src/domain/database/api.js';
import { validateRange, validateReadRequest, validateWriteRequest } from '../../src/domain/database/index.js';
import type { RequestLimits } from '../../src/domain/database/limits.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { KeyComparisonType, ReadRequest, WriteRequest } from '../../src/domain/wire/client.js';
import { put } from './db-harness.js';

const limits: RequestLimits = { keySizeBytesMax: 100, valueSizeBytesMax: 1000, itemsPerRequestMax: 5, requestSizeBytesMax: 3000 };
const hier: DatabaseConfig = { keySorting: 'hierarchical', notificationsEnabled: true };
const nat: DatabaseConfig = { keySorting: 'natural', notificationsEnabled: true };

function rejects(fn: () => void, kind: 'InvalidArgument' | 'LimitExceeded', pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isOxiaError(e, kind), `expected ${kind}, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${kind} matching ${pattern}`);
}

const write = (w: Partial<WriteRequest>, config = hier) => () => validateWriteRequest(WriteRequest.fromPartial(w), limits, config);

test('valid writes pass', () => {
  validateWriteRequest(
    WriteRequest.fromPartial({
      puts: [put('/a', 'v', { partitionKey: 'p', sequenceKeyDelta: [1n, 0n], secondaryIndexes: { idx: '' } }), put('__oxia/a-test', 'v')],
      deletes: [{ key: '/b' }],
      deleteRanges: [{ startInclusive: '/a', endExclusive: '' }, { startInclusive: '/c', endExclusive: '/c' }],
    }),
    limits,
    hier,
  );
});

test('empty keys, bad Unicode and reserved keys are InvalidArgument', () => {
  rejects(write({ puts: [put('', 'v')] }), 'InvalidArgument', /put #0 key must not be empty/);
  rejects(write({ deletes: [{ key: '' }] }), 'InvalidArgument', /delete #0 key must not be empty/);
  rejects(write({ puts: [put('/a\ud800', 'v')] }), 'InvalidArgument', /not valid Unicode/);
  rejects(write({ puts: [put('__oxia/session/0000000000000001', 'v')] }), 'InvalidArgument', /reserved/);
  rejects(write({ deletes: [{ key: '__oxia/commit-offset' }] }), 'InvalidArgument', /reserved/);
});

test('sizes and counts over the limits are LimitExceeded, naming the limit', () => {
  rejects(write({ puts: [put('k'.repeat(101), 'v')] }), 'LimitExceeded', /101 bytes, over the limit of 100/);
  rejects(write({ puts: [put('é'.repeat(51), 'v')] }), 'LimitExceeded', /102 bytes/);
  rejects(write({ puts: [put('/k', 'x'.repeat(1001))] }), 'LimitExceeded', /value .* 1001 bytes, over the limit of 1000/);
  rejects(write({ puts: [put('/k', 'v', { partitionKey: 'p'.repeat(101) })] }), 'LimitExceeded', /partition key/);
  rejects(write({ deletes: Array.from({ length: 6 }, (_, i) => ({ key: `/k${i}` })) }), 'LimitExceeded', /6 operations .* limit of 5/);
  rejects(write({ puts: [1, 2, 3, 4].map((i) => put(`/k${i}`, 'x'.repeat(900))) }), 'LimitExceeded', /3\d\d\d bytes .* limit of 3000/);
  rejects(
    write({ puts: [put('k'.repeat(70), 'v', { partitionKey: 'p', sequenceKeyDelta: [1n, 1n] })] }),
    'LimitExceeded',
    /generated .* 112 bytes/,
  );
  rejects(() => validateReadRequest(ReadRequest.fromPartial({ gets: Array.from({ length: 6 }, () => ({ key: 'k' })) }), limits), 'LimitExceeded', /6 gets/);
});

test('sequence key misuse', () => {
  rejects(write({ puts: [put('/s', 'v', { sequenceKeyDelta: [1n] })] }), 'InvalidArgument', /needs a partition key/);
  rejects(write({ puts: [put('/s', 'v', { partitionKey: 'p', sequenceKeyDelta: [0n, 1n] })] }), 'InvalidArgument', /first sequence key delta/);
});

test('invalid secondary index entries', () => {
  rejects(write({ puts: [put('/k', 'v', { secondaryIndexes: { '': 'x' } })] }), 'InvalidArgument', /index name must not be empty/);
  rejects(write({ puts: [put('/k', 'v', { secondaryIndexes: { 'a/b': 'x' } })] }), 'InvalidArgument', /must not contain '\/'/);
  rejects(write({ puts: [put('/k', 'v', { secondaryIndexes: { i: 's'.repeat(101) } })] }), 'LimitExceeded', /secondary key/);
});

test('inverted ranges are rejected in the namespace order', () => {
  // "/b" < "/a/x" in hierarchical order (fewer levels first), but not in natural order.
  rejects(write({ deleteRanges: [{ startInclusive: '/a/x', endExclusive: '/b' }] }), 'InvalidArgument', /inverted: start "\/a\/x" is after end "\/b" in hierarchical/);
  write({ deleteRanges: [{ startInclusive: '/a/x', endExclusive: '/b' }] }, nat)();
  rejects(() => validateRange({ startInclusive: 'b', endExclusive: 'a' }, limits, nat), 'InvalidArgument', /inverted/);
  validateRange({ startInclusive: 'b', endExclusive: '' }, limits, nat);
  rejects(() => validateRange({ startInclusive: 'a', endExclusive: 'b', secondaryIndexName: 'x/y' }, limits, nat), 'InvalidArgument', /'\/'/);
  rejects(() => validateRange({ startInclusive: 'k'.repeat(101), endExclusive: '' }, limits, nat), 'LimitExceeded', /range start/);
});

test('reads: EQUAL needs a key, comparison types must be known', () => {
  const read = (gets: object[]) => () => validateReadRequest(ReadRequest.fromPartial({ gets }), limits);
  read([{ key: '', comparisonType: KeyComparisonType.CEILING }, { key: 'k' }, { key: '', secondaryIndexName: 'i' }])();
  rejects(read([{ key: '' }]), 'InvalidArgument', /get #0 key must not be empty/);
  rejects(read([{ key: 'k', comparisonType: 7 }]), 'InvalidArgument', /unknown comparison type 7/);
  rejects(read([{ key: 'k', secondaryIndexName: '' }]), 'InvalidArgument', /index name/);
  rejects(read([{ key: 'k'.repeat(101) }]), 'LimitExceeded', /get #0 key/);
});

test.run();
