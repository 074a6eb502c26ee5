import type { DatabaseConfig } from '../../domain/database/api.js';
import { readApplyProgress, readCommitState } from '../../domain/database/index.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { isReservedKey } from '../../domain/keys/internal-keys.js';
import { isInternalEncoded, keyEncoder } from '../../domain/keys/key-encoder.js';
import type { BackupRecord, ReadShardResponse } from '../../domain/wire/backup.js';
import { StorageEntry } from '../../domain/wire/storage.js';
import type { KvSnapshot, KvStore } from '../ports/kv-store.js';

/** Records per message, and bytes of values per message: one message stays well under gRPC limits. */
const RECORDS_PER_MESSAGE_MAX = 100;
const BYTES_PER_MESSAGE_MAX = 1024 * 1024;
/**
 * How many snapshots to try before giving up on one that falls between two chunks of an
 * entry applied in pieces (a delete range or session end over many records, ADR 0004):
 * such a state is no committed offset's. Entries applied whole never leave one.
 */
const SNAPSHOT_ATTEMPTS_MAX = 50;

/**
 * A backup's read of one shard (ADR 0030): its user records as of one committed offset,
 * from a snapshot of the store, while the shard goes on applying writes. The shard's own
 * records (commit state, sessions, index entries, notifications) stay behind: each record carries its secondary
 * indexes and partition key, from which a restore rebuilds the rest. Records of sessions
 * (ephemeral) are left out unless `includeEphemeral`. The last message names the offset.
 */
export async function* readShardCopy(
  kv: KvStore,
  config: DatabaseConfig,
  includeEphemeral: boolean,
  signal: AbortSignal,
): AsyncIterable<ReadShardResponse> {
  const snapshot = await committedSnapshot(kv, signal);
  try {
    const { commitOffset } = await readCommitState(snapshot);
    const encoder = keyEncoder(config.keySorting);
    let records: BackupRecord[] = [];
    let bytes = 0;
    let sent = 0n;
    let ephemeralSkipped = 0n;
    for await (const entry of snapshot.range({})) {
      if (signal.aborted) return;
      const key = encoder.decode(entry.key);
      // The shard's own records; "__oxia/..." keys clients wrote themselves are theirs and go along.
      if (isInternalEncoded(entry.key) && isReservedKey(key)) continue;
      const stored = StorageEntry.decode(entry.value);
      const ephemeral = stored.sessionId !== undefined;
      if (ephemeral && !includeEphemeral) {
        ephemeralSkipped++;
        continue;
      }
      records.push({
        key,
        value: stored.value,
        ...(stored.partitionKey !== undefined && { partitionKey: stored.partitionKey }),
        secondaryIndexes: stored.secondaryIndexes,
        versionId: stored.versionId,
        modificationsCount: stored.modificationsCount,
        createdTimestamp: stored.creationTimestamp,
        modifiedTimestamp: stored.modificationTimestamp,
        ephemeral,
      });
      sent++;
      bytes += stored.value.length;
      if (records.length >= RECORDS_PER_MESSAGE_MAX || bytes >= BYTES_PER_MESSAGE_MAX) {
        yield { records };
        records = [];
        bytes = 0;
      }
    }
    yield { records, end: { commitOffset, records: sent, ephemeralSkipped } };
  } finally {
    await snapshot.close();
  }
}

/** A snapshot at a committed offset: not between the chunks of an entry applied in pieces. */
export async function committedSnapshot(kv: KvStore, signal: AbortSignal): Promise<KvSnapshot> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new OxiaError('Aborted', 'the shard copy was cancelled');
    const snapshot = await kv.snapshot();
    let inPieces: boolean;
    try {
      inPieces = (await readApplyProgress(snapshot)) !== undefined;
    } catch (error) {
      await snapshot.close();
      throw error;
    }
    if (!inPieces) return snapshot;
    await snapshot.close();
    if (attempt >= SNAPSHOT_ATTEMPTS_MAX) {
      throw new OxiaError('ResourceUnavailable', `every snapshot of the shard fell inside an entry applied in pieces (${attempt} tries): try again`);
    }
    // The entry's chunks are written between event-loop turns: let the next one in.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
