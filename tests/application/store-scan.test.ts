// ADR 0031's periodic scan of a running replica's store, with real parts: a ReplicaController on
// real SQLite and LevelDB files and a real WAL, driven by a virtual clock, with pino, prom-client
// metrics, the disk probe and the health board. A record changed underneath the running replica
// (written to its store behind the state machine, as a damaged file would read) is found by the
// next scan, counted as `stored_digest`, and the copy is dropped (the term kept) for a snapshot;
// writes that go on while a scan reads its frozen view give no false mismatch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskProbe } from '../../src/adapters/files/disk-probe.js';
import { HealthStatusBoard, ServingStatus } from '../../src/adapters/grpc/health-service.js';
import { PinoLogger } from '../../src/adapters/logging/pino-logger.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { GrpcReplicationClient } from '../../src/adapters/replication-client/grpc-replication-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import type { KvStore, KvStoreFactory } from '../../src/application/ports/kv-store.js';
import { applyBatch } from '../../src/application/shard/apply-batch.js';
import { ReplicaController } from '../../src/application/shard/replica-controller.js';
import { storeDigestMismatchNow } from '../../src/application/shard/store-digest-scan.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/domain/database/limits.js';
import { readIntegrity } from '../../src/domain/integrity/index.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait.js';
import { CONFIG, deleteBatch, factoryFor, populationEntries, SHARD, type Backend } from './fixtures/range-workload.js';

const SCAN_INTERVAL_MS = 60_000;

/** The real store factory, remembering the stores it opened: the test writes underneath the newest. */
class RememberingFactory implements KvStoreFactory {
  readonly opened: KvStore[] = [];
  deletes = 0;
  constructor(private readonly inner: KvStoreFactory) {}
  get kind(): string {
    return this.inner.kind;
  }
  async open(shard: typeof SHARD): Promise<KvStore> {
    const kv = await this.inner.open(shard);
    this.opened.push(kv);
    return kv;
  }
  async delete(shard: typeof SHARD): Promise<void> {
    this.deletes++;
    await this.inner.delete(shard);
  }
}

for (const backend of ['sqlite', 'level'] as const satisfies readonly Backend[]) {
  test(`--kv ${backend}: the periodic scan finds a record changed underneath a running replica, counts it and drops the copy`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oxia-store-scan-'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const log = new PinoLogger({ level: 'debug', destination: sink });
    const kvFactory = new RememberingFactory(factoryFor(backend, join(dir, 'db')));
    const walFactory = new FileWalFactory({ dir: join(dir, 'wal') });
    // The replica's state before the node starts: entries applied (so the store records its digest), term 4.
    const seed = await kvFactory.open(SHARD);
    const entries = [...populationEntries(600)];
    await applyBatch(seed, CONFIG, entries);
    await seed.close();

    const clock = new VirtualClock();
    const metrics = new PromMetrics();
    const board = new HealthStatusBoard();
    board.setAll(ServingStatus.SERVING);
    const replication = new GrpcReplicationClient(log, PLAINTEXT);
    const controller = await ReplicaController.open(SHARD, {
      walFactory,
      kvFactory,
      replication,
      clock,
      log,
      limits: DEFAULT_REQUEST_LIMITS,
      metrics,
      startedAtMs: 0,
      storage: new DiskProbe({ dirs: [dir], minFreeBytes: 0 }),
      readiness: board,
      random: () => 0.5,
      integrity: { digestCheckpointEntries: 1024, storeScanIntervalMs: SCAN_INTERVAL_MS },
    });
    const divergences = async (): Promise<number> => {
      const text = await metrics.registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith('oxia_server_replica_divergence_total{') && l.includes('check="stored_digest"'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    try {
      await controller.newTerm(4n, undefined, true);
      const kv = kvFactory.opened.at(-1)!;
      const recorded = await readIntegrity(kv);
      assert.ok(recorded, 'the store records its digest');

      // Scans of an untouched store, with writes going on while they read: no mismatch.
      const scanned = lines.length;
      await clock.advance(SCAN_INTERVAL_MS);
      await waitFor(() => lines.slice(scanned).some((l) => l.includes('gives the digest it recorded')), 'a first scan to pass');
      // A delete range over every record, applied in chunks: the store is written several times.
      const more = deleteBatch(recorded.offset + 1n);
      const during = storeDigestMismatchNow(kv);
      await applyBatch(kv, CONFIG, more, 64);
      assert.is(await during, undefined, 'a scan of a frozen view while entries are applied finds nothing');
      assert.is(await storeDigestMismatchNow(kv), undefined, 'nor one after them');
      assert.is(await divergences(), 0);

      // A record rewritten behind the state machine's back, while the replica runs.
      const key = keyEncoder('hierarchical').encode('/s');
      const stored = await kv.get(key);
      assert.ok(stored, 'the replica holds /s');
      const damaged = Buffer.from(stored);
      damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0x01, damaged.length - 1);
      await kv.write([{ type: 'put', key, value: damaged }]);

      await clock.advance(SCAN_INTERVAL_MS);
      await waitFor(() => kvFactory.deletes > 0 && lines.some((l) => l.includes('diverged copy of the shard dropped')), 'the damaged copy to be dropped', 20_000);
      assert.ok(lines.some((l) => l.includes('found by the periodic scan')), 'it says what found it');
      assert.is(await divergences(), 1, 'counted once, by stored_digest');
      const fresh = kvFactory.opened.at(-1)!;
      assert.is.not(fresh, kv, 'the store was replaced');
      assert.is(await fresh.get(key), undefined, 'the copy is gone: the replica holds nothing until a snapshot');
      assert.is(controller.term, 4n, 'the term is kept, so the fence holds');
      assert.is((await controller.status()).commitOffset, -1n, 'nothing applied: it cannot win an election with the dropped copy');
    } finally {
      await controller.close();
      await replication.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
