/**
 * A 3-member etcd cluster on loopback from Debian's etcd-server package (/usr/bin/etcd):
 * every member its own data dir and free client and peer ports, static bootstrap.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, onPath, spawnServer, type ServerProcess } from '../processes.js';
import { stopAll, waitUntilServing, type RunningSystem, type SystemLauncher } from './system.js';

const MEMBERS = 3;

function etcdBinary(): string | undefined {
  return onPath('etcd') ?? (existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined);
}

function etcdVersion(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? 'unknown version';
}

export const etcdLauncher: SystemLauncher = {
  name: 'etcd',
  missing: () => (etcdBinary() === undefined ? 'apt-get install -y etcd-server' : undefined),
  settings: [
    '3 members, static bootstrap (--initial-cluster), plain HTTP on 127.0.0.1, one data dir each.',
    'Everything else at its defaults: WAL fsync before a write is acknowledged, heartbeat 100 ms, election timeout 1000 ms, snapshot every 100,000 entries, 2 GiB backend quota, no auto-compaction.',
    'Reads are linearizable (the default; the client does not ask for serializable reads): a member confirms its leadership with the leader (ReadIndex) before answering.',
    'Client: the npm package etcd3 with one Etcd3 instance given all 3 members; it spreads calls over them at random (writes are forwarded to the leader by the member).',
  ],
  async start(dir: string): Promise<RunningSystem> {
    const binary = etcdBinary();
    if (binary === undefined) throw new Error('etcd is not installed');
    const ports = await freePorts(2 * MEMBERS);
    const members = Array.from({ length: MEMBERS }, (_, i) => ({ name: `etcd-${i}`, client: ports[2 * i]!, peer: ports[2 * i + 1]! }));
    const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
    const processes: ServerProcess[] = [];
    try {
      for (const m of members) {
        const dataDir = join(dir, m.name);
        mkdirSync(dataDir, { recursive: true });
        processes.push(
          spawnServer({
            name: m.name,
            command: binary,
            args: [
              '--name', m.name,
              '--data-dir', dataDir,
              '--listen-client-urls', `http://127.0.0.1:${m.client}`,
              '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
              '--listen-peer-urls', `http://127.0.0.1:${m.peer}`,
              '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
              '--initial-cluster', initialCluster,
              '--initial-cluster-token', 'oxia-ts-bench',
              '--initial-cluster-state', 'new',
              '--logger', 'zap',
              '--log-outputs', 'stderr',
            ],
            logFile: join(dir, `${m.name}.log`),
          }),
        );
      }
      // /health answers true once the member sees a leader and no alarm.
      await waitUntilServing(processes, async () => (await Promise.all(members.map((m) => healthy(m.client)))).every(Boolean), 'the etcd members report healthy');
    } catch (e) {
      await stopAll(processes);
      throw e;
    }
    let stopping: Promise<void> | undefined;
    return {
      endpoints: members.map((m) => `127.0.0.1:${m.client}`),
      description: `etcd ${etcdVersion(binary)} (${binary}), ${MEMBERS} members`,
      pids: processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid])),
      stop: () => (stopping ??= stopAll(processes)),
    };
  },
};

async function healthy(clientPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${clientPort}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { health?: unknown };
    return body.health === 'true' || body.health === true;
  } catch {
    return false;
  }
}
