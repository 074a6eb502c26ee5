import type { KvInput, KvOperation, KvOutput } from './kv-history.js';

/**
 * A linearizability checker for a key-value store with versions, in the manner of
 * Porcupine (Wing & Gong's search with Lowe's memoisation): the history is split by key
 * (each key is an independent object), and for each key a search looks for an order of
 * its operations that respects real time (an operation answered before another was
 * invoked comes first) and that the sequential model below accepts.
 */

/** One key's state in the sequential model. `version` undefined: set by a write whose answer was lost. */
interface KeyState {
  readonly exists: boolean;
  readonly value?: string | undefined;
  readonly version?: bigint | undefined;
  /** The highest version id this key has had: a new version must be above it (ids are never reused). */
  readonly floor: bigint;
  /** The session whose ephemeral record this is, if it is one. */
  readonly owner?: string | undefined;
}

const ABSENT: KeyState = { exists: false, floor: -1n };

/** The states the operation may leave behind; none when the model rejects its output. */
export function step(state: KeyState, input: KvInput, output: KvOutput): KeyState[] {
  switch (input.type) {
    case 'get':
      if (output.type === 'not-found') return state.exists ? [] : [state];
      if (output.type !== 'ok' || !state.exists || output.value !== state.value) return [];
      if (state.version === undefined) return output.versionId !== undefined && output.versionId > state.floor ? [{ ...state, version: output.versionId, floor: output.versionId }] : [];
      return output.versionId === state.version ? [state] : [];
    case 'session-end':
      if (output.type !== 'ok' && output.type !== 'unknown') return [];
      return state.exists && state.owner === input.session ? [{ exists: false, floor: state.floor }] : [state];
    case 'put': {
      const holds = precondition(state, input.expectedVersion);
      const applied = (version: bigint | undefined): KeyState => ({ exists: true, value: input.value, version, floor: version ?? state.floor, owner: input.session });
      switch (output.type) {
        case 'session-gone':
          return input.session !== undefined ? [state] : [];
        case 'ok':
          if (holds === false || output.versionId === undefined || output.versionId <= state.floor) return [];
          return [applied(output.versionId)];
        case 'unexpected-version':
          return holds === true ? [] : [state];
        case 'unknown':
          return holds === true ? [applied(undefined)] : holds === false ? [state] : [applied(undefined), state];
        default:
          return [];
      }
    }
    case 'delete': {
      const holds = state.exists ? precondition(state, input.expectedVersion) : false;
      const deleted: KeyState = { exists: false, floor: state.floor };
      switch (output.type) {
        case 'ok':
          return holds === false ? [] : [deleted];
        case 'not-found':
          return state.exists ? [] : [state];
        case 'unexpected-version':
          // As Oxia: a delete that expects a version of a key that does not exist is told so.
          if (!state.exists) return input.expectedVersion !== undefined ? [state] : [];
          return holds !== true ? [state] : [];
        case 'unknown':
          return holds === true ? [deleted] : holds === false ? [state] : [deleted, state];
        default:
          return [];
      }
    }
  }
}

/** Whether a conditional write's expectation holds: undefined when the state's version is not known. */
function precondition(state: KeyState, expected: bigint | undefined): boolean | undefined {
  if (expected === undefined) return true;
  if (expected === -1n) return !state.exists;
  if (!state.exists) return false;
  return state.version === undefined ? undefined : state.version === expected;
}

class SearchBudgetExceeded extends Error {}

interface Entry {
  readonly op: KvOperation;
  readonly index: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

export interface LinearizabilityResult {
  readonly ok: boolean;
  /** Set when the search hit its step budget on that key: neither proven nor refuted. */
  readonly gaveUp?: boolean;
  /** The key whose history has no linearization, and its operations. */
  readonly key?: string;
  readonly operations?: readonly KvOperation[];
}

/** Checks a whole history: each key on its own. */
export function checkLinearizable(history: readonly KvOperation[], maxSteps = 5_000_000): LinearizabilityResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    const list = byKey.get(op.input.key);
    if (list) list.push(op);
    else byKey.set(op.input.key, [op]);
  }
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // A write whose answer was lost may have taken effect or not. When nothing needs it to
    // have, the history is linearizable with it placed last (as if it never happened), so
    // first try without those whose value no read ever returned: the search is far smaller.
    // Only if that fails is the full history searched (sound either way).
    const seenValues = new Set(ops.flatMap((op) => (op.input.type === 'get' && op.output.type === 'ok' && op.output.value !== undefined ? [op.output.value] : [])));
    const unseenUnknown = (op: KvOperation): boolean =>
      op.output.type === 'unknown' && (op.input.type === 'delete' || op.input.type === 'session-end' || (op.input.type === 'put' && !seenValues.has(op.input.value)));
    const pruned = ops.filter((op) => !unseenUnknown(op));
    try {
      if (pruned.length < ops.length && checkKey(pruned, maxSteps)) continue;
      if (!checkKey(ops, maxSteps)) return { ok: false, key, operations: ops };
    } catch (e) {
      if (!(e instanceof SearchBudgetExceeded)) throw e;
      return { ok: false, gaveUp: true, key, operations: ops };
    }
  }
  return { ok: true };
}

function checkKey(ops: readonly KvOperation[], maxSteps: number): boolean {
  // Entries in time order; at equal times calls come first (the permissive reading of a tie).
  const entries: Entry[] = [];
  ops.forEach((op, index) => {
    const call: Entry = { op, index, isCall: true, time: op.callMs, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = { op, index, isCall: false, time: op.returnMs, match: call, prev: undefined, next: undefined };
    call.match = ret;
    entries.push(call, ret);
  });
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.index - b.index : a.isCall ? -1 : 1));
  const head: Entry = { op: undefined as unknown as KvOperation, index: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }

  const seen = new Set<string>();
  let steps = 0;
  const lift = (call: Entry): void => {
    const ret = call.match as Entry;
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Entry): void => {
    const ret = call.match as Entry;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };
  const stateKey = (s: KeyState): string => `${s.exists ? 1 : 0}|${s.value ?? ''}|${s.version ?? '?'}|${s.floor}|${s.owner ?? ''}`;

  const search = (state: KeyState, done: bigint): boolean => {
    if (head.next === undefined) return true;
    if (++steps > maxSteps) throw new SearchBudgetExceeded();
    // Candidates: every operation invoked before the first answer still pending.
    for (let e: Entry | undefined = head.next; e !== undefined && e.isCall; e = e.next) {
      const bit = 1n << BigInt(e.index);
      for (const next of step(state, e.op.input, e.op.output)) {
        const memo = `${done | bit}:${stateKey(next)}`;
        if (seen.has(memo)) continue;
        seen.add(memo);
        lift(e);
        if (search(next, done | bit)) return true;
        unlift(e);
      }
    }
    return false;
  };
  return search(ABSENT, 0n);
}
