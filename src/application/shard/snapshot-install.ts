import type { KvEntry, KvOp } from '../../domain/database/kv-view.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { KvStore } from '../ports/kv-store.js';
import type { SnapshotChunkMessage } from '../ports/replication-client.js';
import { SnapshotDecoder } from './snapshot-format.js';

/**
 * Marks a store whose snapshot install has not finished. Its key starts 0xff 0xff,
 * which no encoded key ever does (internal keys are 0xff then a depth below 0x8000), so
 * no client write can forge it. The value is the replica's term, which must survive the
 * store being thrown away: the fence holds even across a failed install and a crash.
 */
export const INSTALLING_MARKER_KEY: Uint8Array = Uint8Array.of(0xff, 0xff, ...new TextEncoder().encode('oxia-ts/snapshot-installing'));

/** Store ops per atomic write while loading a snapshot. */
const LOAD_BATCH_OPS_MAX = 1024;
const LOAD_BATCH_BYTES_MAX = 8 * 1024 * 1024;

export function installingMarkerOp(term: bigint): KvOp {
  return { type: 'put', key: INSTALLING_MARKER_KEY, value: new TextEncoder().encode(term.toString()) };
}

/** The term saved by an unfinished install, or undefined when the store is whole. */
export async function readInstallingMarker(kv: Pick<KvStore, 'get'>): Promise<bigint | undefined> {
  const value = await kv.get(INSTALLING_MARKER_KEY);
  if (value === undefined) return undefined;
  const text = new TextDecoder().decode(value);
  return /^-?\d+$/.test(text) ? BigInt(text) : -1n;
}

/**
 * Writes the entries of a snapshot's chunks (the first one already read) into an empty
 * store, in bounded atomic batches. Resolves with the number of chunks once the last
 * one arrived; rejects when the stream ends early or a chunk is malformed.
 */
export async function loadSnapshotChunks(
  kv: KvStore,
  first: SnapshotChunkMessage,
  rest: AsyncIterator<SnapshotChunkMessage>,
  nextChunk: (iterator: AsyncIterator<SnapshotChunkMessage>) => Promise<IteratorResult<SnapshotChunkMessage>>,
): Promise<{ chunks: number; bytes: number }> {
  const decoder = new SnapshotDecoder();
  let pending: KvOp[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await kv.write(pending);
    pending = [];
    pendingBytes = 0;
  };
  const take = async (entries: readonly KvEntry[]): Promise<void> => {
    for (const e of entries) {
      pending.push({ type: 'put', key: e.key, value: e.value });
      pendingBytes += e.key.length + e.value.length;
      if (pending.length >= LOAD_BATCH_OPS_MAX || pendingBytes >= LOAD_BATCH_BYTES_MAX) await flush();
    }
  };
  let chunk = first;
  for (;;) {
    bytes += chunk.content.length;
    await take(decoder.push(chunk));
    if (decoder.isComplete) break;
    const next = await nextChunk(rest);
    if (next.done) {
      throw new OxiaError('InvalidArgument', `the snapshot stream ended after ${decoder.chunksReceived} chunks, before its last one`);
    }
    chunk = next.value;
  }
  await flush();
  return { chunks: decoder.chunksReceived, bytes };
}
