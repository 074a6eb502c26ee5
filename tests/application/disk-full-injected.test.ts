// A full disk and an I/O error injected without a mount (ADR 0029): the real standalone node
// (a StorageNode whose shards a LocalCoordinator leads at RF 1, ADR 0033: replica controller,
// leader shard, log pipeline, WriteRecovery with its probe and reopen) on
// the simulator's disk (adapters/simulation/sim-disk.ts), which fails writes in the form the
// real log, SQLite and LevelDB meet them and reports them through the same classifier. The
// health board, metrics and status mapping are the real ones. Runs everywhere, unlike the
// tmpfs tests (tests/e2e/disk-full*), which say "skipped" where mounting is refused.
import { status as GrpcCode } from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthStatusBoard, LIVENESS_HEALTH_SERVICE, ServingStatus } from '../../src/adapters/grpc/health-service.js';
import { errorToStatus } from '../../src/adapters/grpc/status-mapping.js';
import { parseGrpcError } from '../../src/adapters/grpc-protocol/error-status.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { SimDisk, type WriteFailure } from '../../src/adapters/simulation/sim-disk.js';
import { SimLog } from '../../src/adapters/simulation/sim-process-kit.js';
import { Incarnation, VirtualClock, VirtualScheduler } from '../../src/adapters/simulation/virtual-time.js';
import { NoReplicationClient } from '../../src/adapters/replication-client/no-replication-client.js';
import { LocalCoordinator } from '../../src/application/node/local-coordinator.js';
import { StorageNode } from '../../src/application/node/storage-node.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/domain/database/limits.js';
import { KeyComparisonType, Status } from '../../src/domain/wire/client.js';
import { outcomeWithin, type Outcome } from '../sim/outcome-within.js';
import { parseExposition } from '../support/metrics-scrape.js';
import { MemoryShardTombstones } from '../support/memory-shard-tombstones.js';

const SHARD = 0n;
/** A write that fails must fail within this much simulated time, not wait out a client timeout. */
const FAST_MS = 1_000;

/** One standalone process on a simulated disk, on simulated time. */
class Process {
  readonly life = new Incarnation('standalone');
  readonly board = new HealthStatusBoard();
  readonly metrics = new PromMetrics();
  readonly node: StorageNode;
  readonly coordinator: LocalCoordinator;

  constructor(
    readonly scheduler: VirtualScheduler,
    readonly disk: SimDisk,
    readonly log: SimLog,
  ) {
    const clock = new VirtualClock(scheduler, this.life);
    this.board.setAll(ServingStatus.SERVING);
    const random = new SeededRandom(1);
    this.node = new StorageNode(
      {
        limits: DEFAULT_REQUEST_LIMITS,
        walRetentionMs: 3_600_000,
        notificationsRetentionMs: 3_600_000,
        retentionCheckIntervalMs: 60_000,
        soleNode: true,
      },
      disk.walFactory(this.life, clock),
      disk.kvFactory(this.life),
      new NoReplicationClient(),
      clock,
      log.logger('standalone'),
      this.metrics,
      this.board,
      disk.storageProbe(this.life),
      new MemoryShardTombstones(),
      () => random.next(),
    );
    this.coordinator = new LocalCoordinator(
      {
        publicAddress: 'standalone:6648',
        namespaces: [{ name: 'default', initialShardCount: 1, keySorting: 'hierarchical', notificationsEnabled: true }],
      },
      this.node,
      log.logger('local-coordinator'),
    );
  }

  /** Lets the node run (timers, promise chains) until `done()` or `ms` of simulated time have passed. */
  async runFor(ms: number, done: () => boolean = () => false): Promise<void> {
    const until = this.scheduler.now() + ms;
    for (;;) {
      for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      if (done()) return;
      if (!this.scheduler.runNext(until)) {
        this.scheduler.advanceTo(until);
        return;
      }
    }
  }

  /** What `call` came to within `ms` of simulated time: its value, its error, or 'pending'. */
  within<T>(ms: number, call: Promise<T>): Promise<Outcome<T>> {
    return outcomeWithin((m, done) => this.runFor(m, done), ms, call);
  }

  async put(key: string, value: string): Promise<void> {
    const r = await this.node.write(SHARD, {
      shard: SHARD,
      puts: [{ key, value: Buffer.from(value), sequenceKeyDelta: [], secondaryIndexes: [] }],
      deletes: [],
      deleteRanges: [],
    });
    if (r.puts[0]?.status !== Status.OK) throw new Error(`put ${key}: status ${r.puts[0]?.status}`);
  }

  async get(key: string): Promise<string | undefined> {
    const request = { shard: SHARD, gets: [{ key, includeValue: true, comparisonType: KeyComparisonType.EQUAL }] };
    for await (const response of this.node.read(SHARD, request, new AbortController().signal)) {
      const got = response.gets[0];
      if (got?.status === Status.KEY_NOT_FOUND) return undefined;
      if (got?.status !== Status.OK) throw new Error(`get ${key}: status ${got?.status}`);
      return Buffer.from(got.value ?? []).toString();
    }
    throw new Error(`get ${key}: no answer`);
  }

  async unwritable(reason: string): Promise<number | undefined> {
    return parseExposition(await this.metrics.registry.metrics()).value('oxia_server_storage_unwritable', { shard: String(SHARD), reason });
  }

  /** Opens the shards and leads them at a new term, as `oxia-ts standalone` does. */
  async start(): Promise<void> {
    this.node.start();
    const started = await this.within(60_000, this.coordinator.start());
    if (started === 'pending' || 'error' in started) throw new Error(`the standalone did not start: ${JSON.stringify(started)}`);
  }

  async stop(): Promise<void> {
    this.coordinator.close();
    await this.node.close();
    this.life.end();
  }
}

interface Case {
  readonly failure: WriteFailure;
  readonly code: GrpcCode;
  readonly reason: 'DISK_FULL' | 'STORAGE_FAILED';
  readonly gauge: 'disk_full' | 'io_error';
  /** What the error says of its cause, as the real adapter's error words it. */
  readonly cause: RegExp;
}

const DISK_FULL = { code: GrpcCode.RESOURCE_EXHAUSTED, reason: 'DISK_FULL', gauge: 'disk_full' } as const;
const IO_ERROR = { code: GrpcCode.UNAVAILABLE, reason: 'STORAGE_FAILED', gauge: 'io_error' } as const;
const CASES: Case[] = [
  { failure: { errno: 'ENOSPC', files: 'log', store: 'sqlite' }, ...DISK_FULL, cause: /WAL .*disk full .*ENOSPC: no space left on device/ },
  { failure: { errno: 'ENOSPC', files: 'store', store: 'sqlite' }, ...DISK_FULL, cause: /kv store .*disk full \(database or disk is full\)/ },
  { failure: { errno: 'ENOSPC', files: 'store', store: 'level' }, ...DISK_FULL, cause: /kv store .*disk full \(IO error: .*No space left on device/ },
  { failure: { errno: 'EIO', files: 'log', store: 'sqlite' }, ...IO_ERROR, cause: /WAL .*I\/O error .*EIO/ },
  { failure: { errno: 'EIO', files: 'store', store: 'sqlite' }, ...IO_ERROR, cause: /kv store .*I\/O error \(disk I\/O error\)/ },
  { failure: { errno: 'EIO', files: 'store', store: 'level' }, ...IO_ERROR, cause: /kv store .*I\/O error \(IO error: .*Input\/output error/ },
];

for (const c of CASES) {
  const name = `${c.failure.errno} on the ${c.failure.files === 'log' ? 'log' : `store (${c.failure.store})`}`;
  test(`${name}: writes fail fast with ${c.reason}, reads go on, not ready; the shard reopens by itself once writes work, losing nothing`, async () => {
    const scheduler = new VirtualScheduler();
    const log = new SimLog(() => scheduler.now());
    const disk = new SimDisk('disk', new SeededRandom(11), { fsyncFailure: 0, storeCheckpoint: 0.3 });
    let p = new Process(scheduler, disk, log);
    try {
      await p.start();
      const acked = new Map<string, string>();
      for (let i = 0; i < 5; i++) {
        const outcome = await p.within(FAST_MS, p.put(`/before/${i}`, `v${i}`));
        assert.ok(outcome !== 'pending' && 'value' in outcome, `put /before/${i} succeeded`);
        acked.set(`/before/${i}`, `v${i}`);
      }
      assert.is(p.board.get('oxia-readiness'), ServingStatus.SERVING);

      disk.failWrites(c.failure);
      const failed = await p.within(FAST_MS, p.put('/failed', 'lost?'));
      assert.ok(failed !== 'pending', `the write that cannot be made durable fails within ${FAST_MS} ms`);
      assert.ok('error' in failed, 'the write fails');
      const wire = parseGrpcError(errorToStatus(failed.error, (e) => assert.unreachable(`not a typed error: ${String(e)}`)));
      assert.is(wire.code, c.code, wire.message);
      assert.is(wire.reason, c.reason);
      assert.match(wire.message, c.cause);

      // The next write is refused at once, with the cause.
      const refused = await p.within(FAST_MS, p.put('/refused', 'x'));
      assert.ok(refused !== 'pending' && 'error' in refused, 'a write on the failed disk is refused at once');
      assert.is(parseGrpcError(errorToStatus(refused.error, () => undefined)).reason, c.reason);

      await p.runFor(FAST_MS, () => p.board.get('oxia-readiness') === ServingStatus.NOT_SERVING);
      assert.is(p.board.get('oxia-readiness'), ServingStatus.NOT_SERVING, 'not ready while the shard cannot write');
      assert.is(p.board.get(''), ServingStatus.NOT_SERVING, 'the whole node is not healthy');
      assert.is(p.board.get(LIVENESS_HEALTH_SERVICE), ServingStatus.SERVING, 'liveness stays');
      assert.is(await p.unwritable(c.gauge), 1);
      assert.ok(log.tail(200).some((l) => l.includes('shard cannot write') && l.includes(c.gauge)), 'a log line names the reason');
      for (const [key, value] of acked) assert.is(await p.get(key), value, `reads go on: ${key}`);

      // While the disk still refuses, the probes fail and nothing reopens.
      await p.runFor(30_000);
      assert.is(p.board.get('oxia-readiness'), ServingStatus.NOT_SERVING, 'still not ready while writes fail');
      const still = await p.within(FAST_MS, p.put('/still', 'x'));
      assert.ok(still !== 'pending' && 'error' in still, 'still refused');
      assert.not.ok(log.tail(200).some((l) => l.includes('shard writes again')));

      disk.writesWork();
      // The probe backs off to 5 s (±20%): one period and some.
      await p.runFor(10_000, () => p.board.get('oxia-readiness') === ServingStatus.SERVING);
      assert.is(p.board.get('oxia-readiness'), ServingStatus.SERVING, 'ready again once writes work');
      assert.is(p.board.get(''), ServingStatus.SERVING);
      assert.is(await p.unwritable(c.gauge), 0);
      assert.ok(log.tail(200).some((l) => l.includes('shard writes again')), 'a log line says the shard writes again');
      const after = await p.within(FAST_MS, p.put('/after', 'a'));
      assert.ok(after !== 'pending' && 'value' in after, 'writes succeed again without a restart');
      acked.set('/after', 'a');
      for (const [key, value] of acked) assert.is(await p.get(key), value, `after the reopen: ${key}`);
      if (c.failure.files === 'store') {
        // Its entry reached the log before the store refused it: the reopened store replays it.
        assert.is(await p.get('/failed'), 'lost?', 'the entry whose apply failed is applied on reopen');
      }

      // And all of it is durable: the machine loses power, the node starts again.
      await p.stop();
      disk.powerLoss();
      p = new Process(scheduler, disk, log);
      await p.start();
      for (const [key, value] of acked) assert.is(await p.get(key), value, `after a power loss: ${key}`);
    } catch (e) {
      console.log(log.tail(60).join('\n'));
      throw e;
    } finally {
      await p.stop();
    }
  });
}

test.run();
