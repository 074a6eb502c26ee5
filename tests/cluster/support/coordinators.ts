// What the standby-coordinator tests read from coordinator processes: their JSON log lines
// (when something happened, on the process's own wall clock), their is-leader gauge, and the
// storage nodes' terms as the coordinator's own GetStatus sees them.
import { GrpcStorageNodeClient } from '../../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../../src/adapters/tls/grpc-channel-credentials.js';
import type { RoleProcess } from '../../../src/bootstrap/dev-cluster/role-process.js';
import type { TestCluster } from '../../support/cluster.js';
import { scrapeMetrics } from '../../support/metrics-scrape.js';

export interface LogLine {
  readonly msg: string;
  /** When it was logged, milliseconds since the epoch (the process's wall clock). */
  readonly time: number;
  readonly [field: string]: unknown;
}

export function logLines(p: RoleProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of p.lines()) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const time = typeof entry.time === 'string' ? Date.parse(entry.time) : Number(entry.time);
      if (typeof entry.msg === 'string') out.push({ ...entry, msg: entry.msg, time });
    } catch {
      // not a log line
    }
  }
  return out;
}

/** The lines with this message, oldest first. */
export function logged(p: RoleProcess, msg: string): LogLine[] {
  return logLines(p).filter((l) => l.msg === msg);
}

export const ACQUIRED = 'acquired the coordinator lease: this coordinator acts';
export const LOST = 'lost the coordinator lease: this coordinator stops acting';
export const STANDING_BY = 'standing by: another coordinator holds the lease';
export const CLAIMED = 'claimed the cluster status';

/** oxia_coordinator_is_leader of a coordinator process (1 acting, 0 standing by). */
export async function isLeaderGauge(p: RoleProcess): Promise<number | undefined> {
  return (await scrapeMetrics(String(p.serving.metricsAddress))).value('oxia_coordinator_is_leader');
}

/** "node/shard" -> the node's term for the shard, for every running node and every shard it has. */
export async function nodeTerms(cluster: TestCluster, shards: readonly bigint[]): Promise<Map<string, string>> {
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 5_000 }, PLAINTEXT);
  try {
    const terms = new Map<string, string>();
    for (const node of cluster.nodes.filter((n) => n.running)) {
      for (const shard of shards) {
        try {
          const s = await client.getStatus({ public: node.publicAddress, internal: node.internalAddress }, { shard });
          terms.set(`${node.name}/${shard}`, `${s.term}:${s.status}`);
        } catch {
          terms.set(`${node.name}/${shard}`, 'no answer');
        }
      }
    }
    return terms;
  } finally {
    await client.close();
  }
}
