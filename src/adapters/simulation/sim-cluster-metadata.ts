import type { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import type { ClusterStatusStore, VersionedClusterStatus } from '../../application/ports/cluster-status-store.js';
import type { NodeDiscovery } from '../../application/ports/node-discovery.js';
import type { ClusterConfig } from '../../domain/cluster/cluster-config.js';
import type { ClusterStatus } from '../../domain/cluster/cluster-status.js';
import type { NodeAddress } from '../../domain/cluster/node-address.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { Incarnation } from './virtual-time.js';

/**
 * The coordinator's metadata store, kept by the simulation (it outlives coordinator
 * crashes): compare-and-set on a version counter, as the file and ConfigMap stores do.
 * Every status stored is kept in order, for the invariant that terms never go back.
 */
export class SimStatusStorage {
  private current: VersionedClusterStatus | undefined;
  private counter = 0;
  readonly history: ClusterStatus[] = [];

  /** The newest status stored, if any: what assignments would tell clients. */
  latest(): ClusterStatus | undefined {
    return this.current?.status;
  }

  /** A handle for one coordinator incarnation: it refuses work once that incarnation crashed. */
  handle(incarnation: Incarnation): ClusterStatusStore {
    return {
      load: async () => {
        incarnation.check();
        return this.current;
      },
      store: async (status, expectedVersion) => {
        incarnation.check();
        if (expectedVersion !== this.current?.version) {
          throw new OxiaError('ResourceConflict', `status version ${expectedVersion ?? 'none'} expected, ${this.current?.version ?? 'none'} found`);
        }
        const version = String(++this.counter);
        this.current = { status, version };
        this.history.push(status);
        return version;
      },
      close: async () => undefined,
    };
  }
}

/** A cluster config that never changes. */
export class FixedClusterConfig implements ClusterConfigSource {
  constructor(private readonly config: ClusterConfig) {}
  async start(): Promise<void> {}
  current(): ClusterConfig {
    return this.config;
  }
  watch(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}

/** The config's servers as the discovered nodes, as static discovery does. */
export class FixedNodeDiscovery implements NodeDiscovery {
  constructor(private readonly nodes: readonly NodeAddress[]) {}
  async start(): Promise<void> {}
  current(): readonly NodeAddress[] {
    return this.nodes;
  }
  watch(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}
