/**
 * A 3-node oxia-ts cluster on loopback, as `oxia-ts cluster` starts it: 3 `oxia-ts server`
 * processes and a coordinator, free ports, the namespace "default" with replication factor 3.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevCluster } from '../../../../src/bootstrap/dev-cluster/dev-cluster.js';
import { buildIsFresh, PACKAGE_ROOT } from '../../../../src/bootstrap/cli/compiled-build.mjs';
import { STOP_TIMEOUT_MS, START_TIMEOUT_MS, type RunningSystem, type SystemLauncher } from './system.js';

const NODES = 3;

export function oxiaLauncher(shards: number): SystemLauncher {
  return {
    name: 'oxia-ts',
    // Part of this package: never missing.
    missing: () => undefined,
    settings: [
      `3 \`oxia-ts server\` processes and 1 coordinator (as \`oxia-ts cluster\`), namespace "default" with ${shards} shards, replication factor 3, --kv sqlite.`,
      'Storage defaults: the WAL is fsynced before an entry is acknowledged (--wal-sync-data true), read cache 100 MB.',
      'Reads are served by the shard leader from its applied state (as Oxia\'s); writes are acknowledged once a majority of the replicas holds the entry durably in its WAL and the leader has applied it.',
      'Client: OxiaClient (src/adapters/client) with its defaults, connected to one node and following the shard assignments to each leader; the defaults batch operations per shard with a 5 ms linger.',
    ],
    async start(dir: string): Promise<RunningSystem> {
      const cluster = await startDevCluster({
        dir,
        nodes: NODES,
        shards,
        replicationFactor: 3,
        basePort: 0,
        kv: 'sqlite',
        logLevel: 'info',
        startTimeoutMs: START_TIMEOUT_MS,
        stopTimeoutMs: STOP_TIMEOUT_MS,
      });
      const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
      return {
        endpoints: [cluster.clientAddress],
        description: `oxia-ts ${version} (${buildIsFresh() ? 'compiled build in dist/' : 'TypeScript sources through tsx'}), ${NODES} nodes + coordinator, ${shards} shards`,
        pids: [...cluster.nodes, cluster.coordinator].flatMap((p) => (p.pid === undefined ? [] : [p.pid])),
        stop: () => cluster.stop(),
      };
    },
  };
}
