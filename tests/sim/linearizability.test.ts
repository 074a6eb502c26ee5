// The simulator's linearizability checker on hand-made histories: it accepts what a
// correct store may answer (including writes whose answers were lost) and rejects stale
// reads, lost acknowledged writes, reused versions and impossible conditional outcomes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KvInput, KvOperation, KvOutput } from './kv-history.js';
import { checkLinearizable } from './linearizability.js';

const S = suite('sim: linearizability checker');

let id = 0;
const op = (callMs: number, returnMs: number, input: KvInput, output: KvOutput, client = 'c1'): KvOperation => ({ id: id++, client, shard: 0n, input, output, callMs, returnMs });
const put = (t0: number, t1: number, value: string, versionId: bigint, expectedVersion?: bigint) =>
  op(t0, t1, { type: 'put', key: 'k', value, ...(expectedVersion !== undefined ? { expectedVersion } : {}) }, { type: 'ok', versionId });
const get = (t0: number, t1: number, value: string | undefined, versionId?: bigint) =>
  op(t0, t1, { type: 'get', key: 'k' }, value === undefined ? { type: 'not-found' } : { type: 'ok', value, ...(versionId !== undefined ? { versionId } : {}) });
const lost = (t0: number, value: string) => op(t0, Infinity, { type: 'put', key: 'k', value }, { type: 'unknown' });

S('sequential puts and gets are linearizable', () => {
  assert.ok(checkLinearizable([get(0, 1, undefined), put(2, 3, 'a', 1n), get(4, 5, 'a', 1n), put(6, 7, 'b', 2n), get(8, 9, 'b', 2n)]).ok);
});

S('a stale read after an acknowledged write is not', () => {
  const r = checkLinearizable([put(0, 1, 'a', 1n), put(2, 3, 'b', 2n), get(4, 5, 'a', 1n)]);
  assert.not.ok(r.ok);
  assert.is(r.key, 'k');
});

S('an acknowledged write that vanishes is not', () => {
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), get(2, 3, undefined)]).ok);
});

S('concurrent operations may take effect in either order', () => {
  assert.ok(checkLinearizable([put(0, 10, 'a', 1n), get(1, 2, undefined), get(3, 4, 'a', 1n)]).ok);
  assert.ok(checkLinearizable([put(0, 10, 'a', 2n), put(0, 10, 'b', 1n, undefined), get(11, 12, 'a', 2n)]).ok);
});

S('a version seen once is the version until the next write; versions never go back', () => {
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), get(2, 3, 'a', 2n)]).ok);
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 5n), put(2, 3, 'b', 4n)]).ok);
});

S('a lost write may have happened, at any time after it was sent, or never', () => {
  assert.ok(checkLinearizable([lost(0, 'a'), get(5, 6, undefined), get(7, 8, 'a', 3n)]).ok);
  assert.ok(checkLinearizable([lost(0, 'a'), get(5, 6, undefined)]).ok);
  // But not before it was sent.
  assert.not.ok(checkLinearizable([get(0, 1, 'a', 1n), lost(2, 'a')]).ok);
  // And once overwritten by a later acknowledged write, it cannot come back.
  assert.not.ok(checkLinearizable([lost(0, 'a'), get(1, 2, 'a', 1n), put(3, 4, 'b', 2n), get(5, 6, 'a', 1n)]).ok);
});

S('conditional writes: the expected version decides', () => {
  const ifAbsent = op(2, 3, { type: 'put', key: 'k', value: 'b', expectedVersion: -1n }, { type: 'unexpected-version' });
  assert.ok(checkLinearizable([put(0, 1, 'a', 1n), ifAbsent]).ok);
  const wrongly = op(2, 3, { type: 'put', key: 'k', value: 'b', expectedVersion: 1n }, { type: 'unexpected-version' });
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), wrongly]).ok);
  assert.ok(checkLinearizable([put(0, 1, 'a', 1n), put(2, 3, 'b', 2n, 1n), get(4, 5, 'b', 2n)]).ok);
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), put(2, 3, 'b', 3n, 7n)]).ok);
});

S('deletes: ok when present, not-found when absent, unexpected-version on a mismatch', () => {
  const del = (t0: number, t1: number, output: KvOutput, expectedVersion?: bigint) =>
    op(t0, t1, { type: 'delete', key: 'k', ...(expectedVersion !== undefined ? { expectedVersion } : {}) }, output);
  assert.ok(checkLinearizable([put(0, 1, 'a', 1n), del(2, 3, { type: 'ok' }), get(4, 5, undefined), del(6, 7, { type: 'not-found' })]).ok);
  assert.not.ok(checkLinearizable([del(0, 1, { type: 'ok' })]).ok);
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), del(2, 3, { type: 'not-found' })]).ok);
  assert.ok(checkLinearizable([put(0, 1, 'a', 1n), del(2, 3, { type: 'unexpected-version' }, 9n), get(4, 5, 'a', 1n)]).ok);
  assert.not.ok(checkLinearizable([put(0, 1, 'a', 1n), del(2, 3, { type: 'unexpected-version' }, 1n)]).ok);
});

S('ephemeral records: gone once their session ends, kept when overwritten', () => {
  const eph = (t0: number, t1: number, value: string, versionId: bigint) => op(t0, t1, { type: 'put', key: 'k', value, session: 's1' }, { type: 'ok', versionId });
  const ended = (t0: number, t1: number) => op(t0, t1, { type: 'session-end', key: 'k', session: 's1' }, { type: 'ok' });
  const mayEnd = (t0: number) => op(t0, Infinity, { type: 'session-end', key: 'k', session: 's1' }, { type: 'unknown' });
  assert.ok(checkLinearizable([eph(0, 1, 'a', 1n), ended(2, 3), get(4, 5, undefined)]).ok);
  assert.not.ok(checkLinearizable([eph(0, 1, 'a', 1n), ended(2, 3), get(4, 5, 'a', 1n)]).ok);
  // Overwritten by a put outside the session: the record is no longer the session's.
  assert.ok(checkLinearizable([eph(0, 1, 'a', 1n), put(2, 3, 'b', 2n), ended(4, 5), get(6, 7, 'b', 2n)]).ok);
  // An expiry may come at any time, or not at all.
  assert.ok(checkLinearizable([mayEnd(0), eph(1, 2, 'a', 1n), get(3, 4, 'a', 1n), get(5, 6, undefined)]).ok);
  assert.ok(checkLinearizable([mayEnd(0), eph(1, 2, 'a', 1n), get(3, 4, 'a', 1n)]).ok);
  // A put refused because the session is gone changes nothing.
  const refused = op(3, 4, { type: 'put', key: 'k', value: 'c', session: 's1' }, { type: 'session-gone' });
  assert.ok(checkLinearizable([put(0, 1, 'b', 1n), refused, get(5, 6, 'b', 1n)]).ok);
});

S('keys are checked on their own', () => {
  const other = op(0, 1, { type: 'put', key: 'x', value: 'z' }, { type: 'ok', versionId: 1n });
  const r = checkLinearizable([other, put(2, 3, 'a', 2n), get(4, 5, undefined)]);
  assert.not.ok(r.ok);
  assert.is(r.key, 'k');
});

S.run();
