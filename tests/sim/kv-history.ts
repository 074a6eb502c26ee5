/**
 * What clients of a simulation did and saw: one operation per attempt, with the
 * simulated times it was invoked and answered. An answer that never came, or an error
 * after which a write may or may not have happened, is `unknown`: the checker lets
 * such a write take effect at any moment after its invocation, or never.
 */
export type KvInput =
  /** `session`: an ephemeral record of that session (the value names it too). */
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly expectedVersion?: bigint; readonly session?: string }
  | { readonly type: 'delete'; readonly key: string; readonly expectedVersion?: bigint }
  | { readonly type: 'get'; readonly key: string }
  /**
   * A session ended (closed, or expired) and took its ephemeral record of this key with it, if
   * the key still held one of its records. `ok`: the client saw it end within the interval;
   * `unknown`: it may end at any time after it was created (expiry), or never.
   */
  | { readonly type: 'session-end'; readonly key: string; readonly session: string };

export type KvOutput =
  | { readonly type: 'ok'; readonly versionId?: bigint; readonly value?: string }
  | { readonly type: 'not-found' }
  | { readonly type: 'unexpected-version' }
  /** An ephemeral put refused because its session no longer exists: it had no effect. */
  | { readonly type: 'session-gone' }
  | { readonly type: 'unknown' };

export interface KvOperation {
  readonly id: number;
  readonly client: string;
  /** The shard the client sent it to. */
  readonly shard: bigint;
  readonly input: KvInput;
  readonly output: KvOutput;
  readonly callMs: number;
  /** Infinity when the outcome is unknown. */
  readonly returnMs: number;
}

export function describeOperation(op: KvOperation): string {
  const i = op.input;
  const exp = (i.type === 'put' || i.type === 'delete') && i.expectedVersion !== undefined ? ` if-version=${i.expectedVersion}` : '';
  const what =
    i.type === 'put'
      ? `put ${i.key}=${i.value}${exp}${i.session ? ` (ephemeral, session ${i.session})` : ''}`
      : i.type === 'delete'
        ? `delete ${i.key}${exp}`
        : i.type === 'session-end'
          ? `end of session ${i.session} for ${i.key}`
          : `get ${i.key}`;
  const o = op.output;
  const got = o.type === 'ok' ? `ok${o.value !== undefined ? ` ${o.value}` : ''}${o.versionId !== undefined ? ` v${o.versionId}` : ''}` : o.type;
  return `#${op.id} ${op.client} [${op.callMs}..${op.returnMs}] ${what} -> ${got}`;
}
