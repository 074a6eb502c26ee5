import { inject, injectable } from 'inversify';
import { newTermOptions, newTermRequest } from '../../domain/coordinator/election.js';
import { invalidArgument } from '../../domain/errors/oxia-error.js';
import { shardAssignmentsMessage, type ShardPlacement } from '../../domain/sharding/assignments.js';
import { splitHashRange } from '../../domain/sharding/hash-range.js';
import { isValidNamespaceName } from '../../domain/sharding/namespace.js';
import { Logger } from '../ports/logger.js';
import { LocalCoordinatorConfig, type NamespaceSpec } from './local-coordinator-config.js';
import { StorageNode } from './storage-node.js';

/**
 * The coordinator of a standalone node (`oxia-ts standalone`), inside the node's process, as in
 * Oxia's standalone: no coordinator process, no cluster status. At start it places every shard
 * of every configured namespace on this node (ids in order across namespaces, as a coordinator
 * does for a fresh cluster) and makes the node lead each alone: NewTerm at the term the shard
 * persisted plus one, then BecomeLeader with replication factor 1 and no followers. The term
 * lives in the shard's store, like any replica's. Then it pushes the assignments, which never
 * change while the node runs. Everything else (client API, sessions, retention, recovery from
 * a full disk) is the storage node's own code.
 */
@injectable()
export class LocalCoordinator {
  private readonly stopping = new AbortController();

  constructor(
    @inject(LocalCoordinatorConfig) private readonly config: LocalCoordinatorConfig,
    @inject(StorageNode) private readonly node: StorageNode,
    @inject(Logger) private readonly log: Logger,
  ) {}

  /** Resolves once every shard leads and the node serves its assignments. */
  async start(): Promise<void> {
    const placements = new Map<string, ShardPlacement[]>();
    let nextShardId = 0n;
    for (const namespace of this.config.namespaces) {
      if (!isValidNamespaceName(namespace.name)) throw invalidArgument(`invalid namespace name "${namespace.name}"`);
      const shards: ShardPlacement[] = [];
      for (const range of splitHashRange(namespace.initialShardCount)) {
        const shard = nextShardId++;
        await this.leadAlone(namespace, shard);
        shards.push({ shard, range, leader: this.config.publicAddress });
      }
      placements.set(namespace.name, shards);
    }
    this.node.pushAssignments(shardAssignmentsMessage(placements));
  }

  /** Ends a start still under way (the node is closing). */
  close(): void {
    this.stopping.abort();
  }

  private async leadAlone(namespace: NamespaceSpec, shard: bigint): Promise<void> {
    const key = { namespace: namespace.name, shard };
    const term = (await this.node.persistedTerm(namespace.name, shard)) + 1n;
    // No other replica ever led this shard: no read lease of an earlier term can hold anywhere.
    await this.node.newTerm(newTermRequest(key, term, newTermOptions(namespace), true));
    await this.node.becomeLeader({ ...key, term, replicationFactor: 1, followerMaps: {}, featuresSupported: [] }, this.stopping.signal);
    this.log.debug('shard led locally', { namespace: namespace.name, shard: shard.toString(), term: term.toString() });
  }
}
