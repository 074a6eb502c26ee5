// A separate process that writes the status file, for the file store's cross-process tests.
//   race <path> <count>      increments shardIdGenerator <count> times (load, store, retry on conflict);
//                            prints {"won":N,"lost":M} at the end
//   churn <path> <shards>    rewrites a large status forever, printing each version it wrote
//   hold-lock <path>         takes the store's lock, prints "locked", and waits to be killed
import type { ClusterStatus, ShardMetadata } from '../../../src/domain/cluster/cluster-status.js';
import { emptyClusterStatus } from '../../../src/domain/cluster/cluster-status.js';
import { isStatusVersionConflict } from '../../../src/domain/cluster/status-conflict.js';
import { FileClusterStatusStore } from '../../../src/adapters/status-file/file-cluster-status-store.js';
import { ProcessLock } from '../../../src/adapters/files/process-lock.js';
import { RecordingLogger } from './test-logger.js';

const [mode, path, arg] = process.argv.slice(2);
if (!mode || !path) throw new Error('usage: status-writer <mode> <path> [arg]');

const store = new FileClusterStatusStore({ path, lockTimeoutMs: 60_000 }, new RecordingLogger());

function bigStatus(shards: number, term: bigint): ClusterStatus {
  const node = (i: number) => ({ public: `node-${i}.oxia.svc:6648`, internal: `node-${i}.oxia.svc:6649` });
  const map = new Map<bigint, ShardMetadata>();
  for (let i = 0; i < shards; i++) {
    map.set(BigInt(i), {
      status: 'SteadyState',
      term,
      leader: node(i % 3),
      ensemble: [node(0), node(1), node(2)],
      removedNodes: [],
      pendingDeleteShardNodes: [],
      int32HashRange: { min: i, max: i },
    });
  }
  return { namespaces: new Map([['default', { replicationFactor: 3, shards: map }]]), shardIdGenerator: BigInt(shards), serverIdx: 0 };
}

if (mode === 'race') {
  let won = 0;
  let lost = 0;
  while (won < Number(arg)) {
    const current = await store.load();
    const base = current?.status ?? emptyClusterStatus();
    try {
      await store.store({ ...base, shardIdGenerator: base.shardIdGenerator + 1n }, current?.version);
      won++;
    } catch (e) {
      if (!isStatusVersionConflict(e)) throw e;
      lost++;
    }
  }
  await store.close();
  console.log(JSON.stringify({ won, lost }));
} else if (mode === 'churn') {
  const shards = Number(arg);
  let version = (await store.load())?.version;
  for (let term = 0n; ; term++) {
    version = await store.store(bigStatus(shards, term), version);
    console.log(version);
  }
} else if (mode === 'hold-lock') {
  const lock = new ProcessLock(`${path}.lock`);
  await lock.acquire(10_000);
  console.log('locked');
  // The timer keeps `lock` reachable: a garbage-collected connection would release the lock.
  setInterval(() => lock, 60_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
