// The judgements at the end of a real-process nemesis run (tests/support/history-checks.ts) on
// histories fed through the HistoryRecorder by hand: they must reject a stale read and a lost
// acknowledged write, and accept what a correct store may answer, including a write that the
// client library applied twice (retried after a broken stream).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KvInput, KvOutput } from '../sim/kv-history.js';
import { judgeHistory, lostAcknowledgedWrites } from '../support/history-checks.js';
import { HistoryRecorder } from '../support/history-recorder.js';

const S = suite('history checks of real-process runs');

/** Feeds operations one after the other (each answered before the next is sent), in order. */
function sequential(steps: ReadonlyArray<readonly [string, KvInput, KvOutput | 'fail']>): HistoryRecorder {
  const recorder = new HistoryRecorder();
  for (const [client, input, output] of steps) {
    const op = recorder.invoke(client, input);
    if (output === 'fail') op.fail();
    else op.complete(output);
  }
  return recorder;
}

function judge(recorder: HistoryRecorder): string[] {
  const operations = recorder.operations();
  return judgeHistory({ operations, toCheck: recorder.historyToCheck(), finalReads: operations.filter((op) => op.client === 'final') });
}

const put = (value: string, expectedVersion?: bigint): KvInput => ({ type: 'put', key: 'k', value, ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
const get: KvInput = { type: 'get', key: 'k' };

S('a stale read is rejected, with the failing key and its operations in the report', () => {
  const recorder = sequential([
    ['c1', put('a'), { type: 'ok', versionId: 1n }],
    ['c2', put('b'), { type: 'ok', versionId: 2n }],
    ['c3', get, { type: 'ok', value: 'a', versionId: 1n }],
    ['final', get, { type: 'ok', value: 'b', versionId: 2n }],
  ]);
  const problems = judge(recorder);
  assert.is(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /no linearization of key k/);
  assert.match(problems[0]!, /c3 .* get k -> ok a v1/);
});

S('the report shows the shortest failing prefix, not the whole run', () => {
  const steps: Array<readonly [string, KvInput, KvOutput | 'fail']> = [];
  for (let i = 1; i <= 20; i++) steps.push(['c1', put(`v${i}`), { type: 'ok', versionId: BigInt(i) }]);
  steps.push(['c2', get, { type: 'ok', value: 'v3', versionId: 3n }]);
  for (let i = 21; i <= 30; i++) steps.push(['c1', put(`v${i}`), { type: 'ok', versionId: BigInt(i) }]);
  const problems = judge(sequential(steps));
  assert.is(problems.length, 1);
  // The stale read, what came before it, and the next invocation: cut at the read's own
  // invocation the read is still pending, and what follows could explain its answer.
  assert.match(problems[0]!, /: 22 operations shown/);
  assert.match(problems[0]!, /c2 .* get k -> ok v3 v3/);
  assert.not.match(problems[0]!, /put k=v22/);
});

S('a lost acknowledged write is reported by both checks', () => {
  const recorder = sequential([
    ['c1', put('a'), { type: 'ok', versionId: 1n }],
    ['c2', put('b'), { type: 'ok', versionId: 2n }],
    ['final', get, { type: 'ok', value: 'a', versionId: 1n }],
  ]);
  const problems = judge(recorder);
  assert.is(problems.length, 2, problems.join('\n'));
  assert.match(problems[0]!, /acknowledged #1 c2 .* put k=b -> ok v2 is lost/);
  const deleted = sequential([
    ['c1', put('a'), { type: 'ok', versionId: 1n }],
    ['final', get, { type: 'not-found' }],
  ]);
  const ops = deleted.operations();
  assert.is(lostAcknowledgedWrites(ops, ops.filter((op) => op.client === 'final')).length, 1);
});

S('a failed write may have happened or not; a failed read is left out', () => {
  const happened = sequential([
    ['c1', put('a'), { type: 'ok', versionId: 1n }],
    ['c2', put('b'), 'fail'],
    ['c3', get, 'fail'],
    ['final', get, { type: 'ok', value: 'b', versionId: 2n }],
  ]);
  assert.equal(judge(happened), []);
  assert.is(happened.operations().length, 3);
  const didNot = sequential([
    ['c1', put('a'), { type: 'ok', versionId: 1n }],
    ['c2', put('b'), 'fail'],
    ['final', get, { type: 'ok', value: 'a', versionId: 1n }],
  ]);
  assert.equal(judge(didNot), []);
});

S('a write applied twice by the client retrying it is accepted, not a later stale version', () => {
  // c1's put was applied as v1 (seen by c2), its answer lost, and the retry applied it as v2.
  const recorder = new HistoryRecorder();
  const retried = recorder.invoke('c1', put('a'));
  recorder.invoke('c2', get).complete({ type: 'ok', value: 'a', versionId: 1n });
  retried.complete({ type: 'ok', versionId: 2n });
  recorder.invoke('c3', get).complete({ type: 'ok', value: 'a', versionId: 2n });
  recorder.invoke('final', get).complete({ type: 'ok', value: 'a', versionId: 2n });
  assert.equal(judge(recorder), []);
  // But the first application cannot show up after the answered one.
  recorder.invoke('c4', get).complete({ type: 'ok', value: 'a', versionId: 1n });
  assert.is(judge(recorder).length, 1);
});

S.run();
