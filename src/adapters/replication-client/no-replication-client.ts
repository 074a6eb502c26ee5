import { injectable } from 'inversify';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { EntryId } from '../../domain/wal/log-entry.js';
import type { ReplicateStream, ReplicationClient, ReplicationTarget, SnapshotSink } from '../../application/ports/replication-client.js';

/**
 * The replication client of a standalone node: its shards lead alone (replication factor 1,
 * no followers), so nothing is ever sent to another replica. A call would be a bug in the
 * local coordinator; it fails instead of dialing anyone.
 */
@injectable()
export class NoReplicationClient implements ReplicationClient {
  truncate(follower: string, target: ReplicationTarget): Promise<EntryId> {
    return Promise.reject(noFollowers(follower, target));
  }

  replicate(follower: string, target: ReplicationTarget): ReplicateStream {
    throw noFollowers(follower, target);
  }

  sendSnapshot(follower: string, target: ReplicationTarget): SnapshotSink {
    throw noFollowers(follower, target);
  }

  async close(): Promise<void> {}
}

function noFollowers(follower: string, target: ReplicationTarget): OxiaError {
  return new OxiaError('InvalidStatus', `shard ${target.shard} of a standalone node has no followers (asked to reach ${follower})`);
}
