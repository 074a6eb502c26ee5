import { inject, injectable } from 'inversify';
import { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import { Logger } from '../../application/ports/logger.js';
import type { NodeDiscovery } from '../../application/ports/node-discovery.js';
import type { ClusterConfig } from '../../domain/cluster/cluster-config.js';
import { nodeId, sameNodeList, sortNodes, type NodeAddress } from '../../domain/cluster/node-address.js';
import { ListenerSet } from '../cluster-config/listener-set.js';

/**
 * The storage nodes are the `servers` of the cluster config, and follow its edits: a server added
 * to the file or ConfigMap becomes a member, a removed one stops being one. The config source must
 * be started before this.
 */
@injectable()
export class StaticNodeDiscovery implements NodeDiscovery {
  private readonly listeners: ListenerSet<readonly NodeAddress[]>;
  private members: readonly NodeAddress[] = [];
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(
    @inject(ClusterConfigSource) private readonly config: ClusterConfigSource,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.listeners = new ListenerSet(logger, 'node discovery');
  }

  async start(): Promise<void> {
    this.members = sortNodes(this.config.current().servers);
    this.unsubscribe = this.config.watch((c) => this.configChanged(c));
    this.started = true;
  }

  current(): readonly NodeAddress[] {
    if (!this.started) throw new Error('StaticNodeDiscovery.current() before start()');
    return this.members;
  }

  watch(listener: (nodes: readonly NodeAddress[]) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.listeners.clear();
  }

  private configChanged(config: ClusterConfig): void {
    const members = sortNodes(config.servers);
    if (sameNodeList(members, this.members)) return;
    this.logger.info('storage nodes changed in the cluster config', { nodes: members.map(nodeId) });
    this.members = members;
    this.listeners.notify(members);
  }
}
