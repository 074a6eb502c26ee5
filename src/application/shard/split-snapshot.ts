import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { SplitKeyFilter } from '../../domain/sharding/split-filter.js';
import type { KvStore } from '../ports/kv-store.js';
import type { ReplicationClient, ReplicationTarget } from '../ports/replication-client.js';
import type { LogPipeline } from './log-pipeline.js';
import { SNAPSHOT_FORMAT_NAME, SnapshotEncoder } from './snapshot-format.js';

export interface SplitSnapshotResult {
  /** The parent's offset the copy is as of: the child's log continues after it. */
  readonly offset: bigint;
  /** What the child replica answered it now holds. */
  readonly ackOffset: bigint;
  readonly chunks: number;
  readonly bytes: number;
  readonly kept: number;
  readonly dropped: number;
}

/**
 * Sends a child of a split (ADR 0025) its part of the parent's store: the entries `filter`
 * keeps, as of the last applied entry of the (frozen) parent, in the snapshot format a
 * follower installs. The store is held still while it is read.
 */
export async function sendSplitSnapshot(
  deps: { readonly kv: KvStore; readonly pipeline: LogPipeline; readonly client: ReplicationClient },
  follower: string,
  target: ReplicationTarget,
  filter: SplitKeyFilter,
  signal: AbortSignal,
): Promise<SplitSnapshotResult> {
  const sink = deps.client.sendSnapshot(follower, target);
  const onAbort = (): void => sink.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  let chunks = 0;
  let bytes = 0;
  let offset = -1n;
  try {
    const resume = await deps.pipeline.pauseApply();
    try {
      offset = deps.pipeline.lastAppliedOffset;
      const encoder = new SnapshotEncoder();
      const send = async (content: Uint8Array, last: boolean): Promise<void> => {
        if (signal.aborted) throw new OxiaError('Aborted', 'the split snapshot was cancelled');
        await sink.send({ term: target.term, name: SNAPSHOT_FORMAT_NAME, content, chunkIndex: chunks, chunkCount: last ? chunks + 1 : 0 });
        chunks++;
        bytes += content.length;
      };
      for await (const entry of deps.kv.range({})) {
        const value = filter.copy(entry.key, entry.value);
        if (value === undefined) continue;
        for (const chunk of encoder.add(entry.key, value)) await send(chunk, false);
      }
      await send(encoder.finish(), true);
    } finally {
      resume();
    }
    const ackOffset = await sink.finish();
    return { offset, ackOffset, chunks, bytes, kept: filter.kept, dropped: filter.dropped };
  } catch (error) {
    sink.cancel();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
