// A NewTerm's fence survives a power loss (sim seed 100030 on 5 nodes): the real ReplicaController
// on the simulator's disk (adapters/simulation/sim-disk.ts), whose store loses its unsynced
// writes when the power goes, as SQLite at synchronous=NORMAL and LevelDB without sync do. The
// term is not in the log, so nothing replays it: before the fix, a replica fenced at term 1 came
// back at term 0 and took the deposed leader's appends of term 0, which then committed on it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthStatusBoard, ServingStatus } from '../../src/adapters/grpc/health-service.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { NoReplicationClient } from '../../src/adapters/replication-client/no-replication-client.js';
import { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { SimDisk } from '../../src/adapters/simulation/sim-disk.js';
import { SimLog } from '../../src/adapters/simulation/sim-process-kit.js';
import { Incarnation, VirtualClock, VirtualScheduler } from '../../src/adapters/simulation/virtual-time.js';
import { ReplicaController } from '../../src/application/shard/replica-controller.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/domain/database/limits.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';

const SHARD = { namespace: 'default', shard: 0n };
const OPTIONS = { notificationsEnabled: true, keySorting: 'hierarchical' } as const;

/** One life of a storage process holding the shard, on simulated time. */
function openReplica(scheduler: VirtualScheduler, disk: SimDisk, log: SimLog, life: Incarnation): Promise<ReplicaController> {
  const clock = new VirtualClock(scheduler, life);
  const board = new HealthStatusBoard();
  board.setAll(ServingStatus.SERVING);
  return ReplicaController.open(SHARD, {
    walFactory: disk.walFactory(life, clock),
    kvFactory: disk.kvFactory(life),
    replication: new NoReplicationClient(),
    clock,
    log: log.logger(life.process),
    limits: DEFAULT_REQUEST_LIMITS,
    metrics: new PromMetrics(),
    startedAtMs: 0,
    storage: disk.storageProbe(life),
    readiness: board,
    random: () => 0.5,
  });
}

/** Runs simulated time until `call` settles (the log's syncs and the lease wait are timers). */
async function settle<T>(scheduler: VirtualScheduler, call: Promise<T>): Promise<T> {
  let done = false;
  const watched = call.finally(() => (done = true));
  watched.catch(() => undefined);
  for (let i = 0; i < 10_000 && !done; i++) {
    for (let j = 0; j < 4; j++) await new Promise<void>((resolve) => setImmediate(resolve));
    if (!done && !scheduler.runNext()) break;
  }
  return watched;
}

test('a term a NewTerm answered survives a power loss, and the fence against the older term holds', async () => {
  const scheduler = new VirtualScheduler();
  const log = new SimLog(() => scheduler.now());
  // No checkpoint ever makes a store write durable by chance: only a durable write is.
  const disk = new SimDisk('n1', new SeededRandom(7), { fsyncFailure: 0, storeCheckpoint: 0 });

  const first = new Incarnation('n1#0');
  const before = await settle(scheduler, openReplica(scheduler, disk, log, first));
  await settle(scheduler, before.newTerm(0n, OPTIONS, true));
  await settle(scheduler, before.newTerm(1n, OPTIONS, true));
  assert.is((await before.status()).term, 1n);

  first.end();
  disk.powerLoss();

  const after = await settle(scheduler, openReplica(scheduler, disk, log, new Incarnation('n1#1')));
  const status = await after.status();
  assert.is(status.term, 1n, `the replica came back at term ${status.term}: the fence of term 1 was lost with the power`);
  // The deposed leader of term 0 must still be refused.
  const appends = (async function* () {})();
  const refused = await settle(
    scheduler,
    after.replicate(0n, appends, () => undefined, new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.ok(isOxiaError(refused, 'InvalidTerm'), `term 0's stream was not refused: ${String(refused)}`);
  assert.equal(status.role, 'Fenced');
});

test.run();
