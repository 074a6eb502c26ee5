// The end-of-run judgements on a recorded history (HistoryRecorder): the linearizability
// checker of the simulator, and the plainer check that every acknowledged write is still
// readable unless a later write may have replaced it, each with a report a person can read.
import { describeOperation, type KvOperation } from '../sim/kv-history.js';
import { checkLinearizable } from '../sim/linearizability.js';
import { isRetryShadow } from './history-recorder.js';

export interface RecordedRun {
  /** What the callers did (HistoryRecorder.operations()). */
  readonly operations: readonly KvOperation[];
  /** The same with the writes' retry shadows (HistoryRecorder.historyToCheck()). */
  readonly toCheck: readonly KvOperation[];
  /** One read of every key after the cluster healed (also in the two lists above). */
  readonly finalReads: readonly KvOperation[];
}

/** Problems found, one paragraph each (empty: the history passed). */
export function judgeHistory(run: RecordedRun, maxSteps?: number): string[] {
  const problems = lostAcknowledgedWrites(run.operations, run.finalReads);
  const result = checkLinearizable(run.toCheck, maxSteps);
  if (!result.ok) {
    const ops = [...(result.operations ?? [])].sort((a, b) => a.callMs - b.callMs || a.id - b.id);
    const shown = minimalFailingHistory(ops, result.gaveUp === true, maxSteps).filter((op) => !isRetryShadow(op));
    const what = result.gaveUp ? 'the checker gave up (search budget) on' : 'no linearization of';
    problems.push(
      `${what} key ${result.key}: ${shown.length} operations shown (the shortest prefix that fails, those answered after its last invocation taken as indeterminate; each write may also have been applied twice, see HistoryRecorder.historyToCheck), times in ms on the test's monotonic clock:\n` +
        shown.map((op) => `  ${describeOperation({ ...op, callMs: round(op.callMs), returnMs: round(op.returnMs) })}`).join('\n'),
    );
  }
  return problems;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * The shortest prefix (by invocation) of one key's operations that is already not
 * linearizable: what shows the fault without the rest of the run. A prefix is cut at an
 * invocation; an operation invoked by then but answered later is checked as indeterminate
 * (a write) or left out (a read), since later operations may explain its answer. Any
 * linearization of the whole history, cut at that moment, is one of the prefix: so a prefix
 * that fails proves the whole fails. Falls back to all of them.
 */
function minimalFailingHistory(ops: readonly KvOperation[], gaveUp: boolean, maxSteps?: number): readonly KvOperation[] {
  if (gaveUp) return ops;
  const invokedBy = (n: number): readonly KvOperation[] => ops.filter((op) => op.callMs <= ops[n - 1]!.callMs);
  const failsWith = (n: number): boolean => {
    const cut = ops[n - 1]!.callMs;
    const prefix = invokedBy(n).flatMap((op): KvOperation[] => {
      if (op.returnMs <= cut) return [op];
      return op.input.type === 'get' ? [] : [{ ...op, output: { type: 'unknown' }, returnMs: Infinity }];
    });
    const r = checkLinearizable(prefix, maxSteps);
    return !r.ok && r.gaveUp !== true;
  };
  let lo = 1;
  let hi = ops.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsWith(mid)) hi = mid;
    else lo = mid + 1;
  }
  return failsWith(lo) ? invokedBy(lo) : ops;
}

/**
 * Every acknowledged write must be what the final read sees, unless another write may have
 * come after it (one not answered before it was invoked). The final read of a key shows the
 * value of one put, or nothing: then some delete may have come after every acknowledged put.
 */
export function lostAcknowledgedWrites(history: readonly KvOperation[], finalReads: readonly KvOperation[]): string[] {
  const problems: string[] = [];
  for (const read of finalReads) {
    const key = read.input.key;
    const writes = history.filter((op) => op.input.key === key && (op.input.type === 'put' || op.input.type === 'delete'));
    const maybeApplied = writes.filter((op) => op.output.type === 'ok' || op.output.type === 'unknown');
    const acknowledged = writes.filter((op) => op.output.type === 'ok');
    // A write after which `w` may have been applied: any that did not end before `w` began.
    const mayFollow = (later: KvOperation, w: KvOperation): boolean => later !== w && later.returnMs > w.callMs;
    if (read.output.type === 'ok') {
      const value = read.output.value;
      const source = writes.find((op) => op.input.type === 'put' && op.input.value === value);
      if (!source) {
        problems.push(`key ${key}: the final read saw ${value}, which no put wrote`);
        continue;
      }
      for (const w of acknowledged) {
        if (w !== source && !mayFollow(source, w)) {
          problems.push(`key ${key}: acknowledged ${describeOperation(w)} is lost: the final read sees ${value}, written by #${source.id}, which was answered before it was sent`);
        }
      }
    } else if (read.output.type === 'not-found') {
      const puts = acknowledged.filter((op) => op.input.type === 'put');
      const lastSent = Math.max(-Infinity, ...puts.map((op) => op.callMs));
      const deleteAfter = maybeApplied.some((op) => op.input.type === 'delete' && op.returnMs > lastSent);
      if (puts.length > 0 && !deleteAfter) {
        const w = puts.find((op) => op.callMs === lastSent)!;
        problems.push(`key ${key}: acknowledged ${describeOperation(w)} is lost: the final read finds nothing and no delete may have come after it`);
      }
    }
  }
  return problems;
}
