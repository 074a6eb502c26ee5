import type { AppliedEntry } from '../database/api.js';
import { isReservedKey } from '../keys/internal-keys.js';
import { Status, type PutRequest, type WriteRequest } from '../wire/client.js';
import type { LogEntryValue } from '../wire/storage.js';
import { routingHash, routingKey } from './hash.js';
import { rangeContains, type HashRange } from './hash-range.js';

/**
 * A parent's applied entry as a child of a split catching up live receives it (ADR 0025):
 * what the entry changed in the parent, cut down to the child's range, so that applying it
 * to the child's copy gives the child's part of the parent's store after the entry.
 *
 * - A request the parent failed as a whole is left out (it changed nothing).
 * - A put is kept when it succeeded in the parent and its record is the child's (routing key:
 *   partition key, else key) or the shard's own (a session record, kept in both children);
 *   it carries the version the parent gave it (`overrideVersionId`), since the child does not
 *   see the puts left out, each of which took a version in the parent. Puts that failed their
 *   condition changed nothing and are left out: their condition may be on a record the child
 *   lacks, so the child could not decide it as the parent did.
 * - Deletes and delete ranges stay: in the child they remove only what it holds, and one that
 *   finds nothing changes nothing there.
 * - `versionIdFloor` is the parent's version counter after the entry, when the entry moved it
 *   (overridden versions do not move a counter): the child's counter then follows the parent's.
 * - Control requests (feature flags) stay.
 *
 * `applied` is what the parent's state machine reported for this very entry.
 */
export function splitEntryValue(value: LogEntryValue, applied: AppliedEntry, range: HashRange): LogEntryValue {
  if (value.value?.$case !== 'requests') return value;
  const writes: WriteRequest[] = [];
  let floor: bigint | undefined;
  value.value.value.writes.forEach((write, i) => {
    const response = applied.responses[i];
    if (applied.errors[i] !== undefined || response === undefined) return;
    const puts: PutRequest[] = [];
    write.puts.forEach((put, j) => {
      const result = response.puts[j];
      const versionId = result?.version?.versionId;
      if (result?.status !== Status.OK || versionId === undefined) return;
      if (put.overrideVersionId === undefined && (floor === undefined || versionId > floor)) floor = versionId;
      if (!isReservedKey(put.key) && !rangeContains(range, routingHash(routingKey(put.key, put.partitionKey)))) return;
      puts.push({ ...put, overrideVersionId: versionId });
    });
    if (puts.length + write.deletes.length + write.deleteRanges.length === 0) return;
    writes.push({ ...write, puts });
  });
  return { value: { $case: 'requests', value: { writes, ...(floor !== undefined && { versionIdFloor: floor }) } } };
}
