// A full disk (ADR 0029), on a tmpfs of its own under a real `oxia-ts standalone`: writes
// fail at once with RESOURCE_EXHAUSTED / DISK_FULL, reads go on from what was committed,
// readiness and the whole-server health say NOT_SERVING (liveness does not), a metric and a
// log line name the shard; once space is freed the shard reopens its log and store by itself,
// with every acknowledged write there, also after a restart. Then the same through
// --min-free-disk-bytes: writes stop before the disk is full.
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OxiaClient, OxiaError } from '../../src/adapters/client/index.js';
import { parseGrpcError } from '../../src/adapters/grpc-protocol/error-status.js';
import { Status } from '../../src/domain/wire/client.js';
import { HealthClient, ServingStatus } from '../support/health-client.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { mountSmallFilesystem } from '../support/small-filesystem.js';
import { startStandalone } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';

export { test };

const FILLER = 'filler';
const VALUE_BYTES = 8 * 1024;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function unwritableGauge(metricsAddress: string, reason: string): Promise<number | undefined> {
  return (await scrapeMetrics(metricsAddress)).value('oxia_server_storage_unwritable', { shard: '0', reason });
}

async function expectAllThere(client: RawOxiaClient, shard: bigint, acked: ReadonlyMap<string, string>, when: string): Promise<void> {
  for (const [key, value] of acked) {
    const g = await client.get(shard, key);
    assert.is(g.status, Status.OK, `${when}: acknowledged ${key} is there`);
    assert.is(Buffer.from(g.value ?? []).toString(), value, `${when}: ${key} has its value`);
  }
}

export function diskFullSuite(kv: 'sqlite' | 'level'): void {
  test(`a full disk fails writes fast, keeps reads, and the shard recovers once space is freed (--kv ${kv})`, async () => {
    const fs = mountSmallFilesystem(24);
    if (!fs) {
      console.log('skipped: this process may not mount a tmpfs');
      return;
    }
    const server = await startStandalone({ kv, dataDir: fs.dir, extraArgs: ['--min-free-disk-bytes', '0'] });
    const client = new RawOxiaClient(server.address);
    const health = new HealthClient(server.address);
    try {
      const [layout] = await client.shards();
      const shard = layout!.shard;
      const acked = new Map<string, string>();
      const put = async (key: string): Promise<void> => {
        const value = `${key}:${'v'.repeat(VALUE_BYTES)}`;
        const r = await withTimeout(client.put(shard, { key, value: Buffer.from(value) }), 10_000, `put ${key}`);
        assert.is(r.puts[0]?.status, Status.OK);
        acked.set(key, value);
      };
      await put('/before');
      assert.is(await health.check('oxia-readiness'), ServingStatus.SERVING);

      fs.fill(FILLER, 512 * 1024);
      let failure: grpc.ServiceError | undefined;
      for (let i = 0; i < 5_000 && failure === undefined; i++) {
        try {
          await put(`/full/${i}`);
        } catch (e) {
          if (typeof (e as grpc.ServiceError).code !== 'number') throw e;
          failure = e as grpc.ServiceError;
        }
      }
      assert.ok(failure, 'a put failed once the disk was full');
      const first = parseGrpcError(failure);
      assert.is(first.code, grpc.status.RESOURCE_EXHAUSTED, `disk full is RESOURCE_EXHAUSTED: ${first.message}`);
      assert.is(first.reason, 'DISK_FULL');
      assert.match(first.message, /disk full/);

      // The next write is refused at once, not after a timeout.
      const again = await withTimeout(client.put(shard, { key: '/refused', value: Buffer.from('x') }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      ), 5_000, 'a put on the full disk');
      assert.ok(again, 'a put on the full disk is refused');
      assert.is(parseGrpcError(again).reason, 'DISK_FULL');

      // The client library does not retry it into its request timeout: it fails with the cause.
      const library = await OxiaClient.connect(server.address, { requestTimeoutMs: 60_000 });
      try {
        const error = await library.put('/library', 'x').then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.instance(error, OxiaError);
        assert.is((error as OxiaError).kind, 'DiskFull', String(error));
      } finally {
        await library.close();
      }

      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.NOT_SERVING, 'readiness NOT_SERVING');
      assert.is(await health.check(''), ServingStatus.NOT_SERVING, 'the whole server is not healthy (the coordinator moves leaders away)');
      assert.is(await health.check('oxia-liveness'), ServingStatus.SERVING, 'liveness stays: a restart would not help');
      assert.is(await unwritableGauge(server.metricsAddress, 'disk_full'), 1);
      assert.ok(server.logs().some((l) => l.includes('shard cannot write') && l.includes('disk_full')), 'a log line names the shard and the reason');
      await expectAllThere(client, shard, acked, 'while the disk is full');

      fs.free(FILLER);
      await waitFor(async () => {
        try {
          await put('/after');
          return true;
        } catch {
          return false;
        }
      }, 'a put to succeed once space was freed', 30_000, 100);
      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.SERVING, 'readiness SERVING again');
      assert.is(await health.check(''), ServingStatus.SERVING);
      assert.is(await unwritableGauge(server.metricsAddress, 'disk_full'), 0);
      assert.ok(server.logs().some((l) => l.includes('shard writes again')), 'a log line says the shard writes again');
      await expectAllThere(client, shard, acked, 'after recovery');

      client.close();
      await server.restart();
      const reopened = new RawOxiaClient(server.address);
      try {
        await expectAllThere(reopened, shard, acked, 'after a restart');
      } finally {
        reopened.close();
      }
    } finally {
      client.close();
      health.close();
      await server.stop();
      fs.unmount();
    }
  });

  test(`--min-free-disk-bytes refuses writes before the disk is full, and lets them again (--kv ${kv})`, async () => {
    const fs = mountSmallFilesystem(24);
    if (!fs) {
      console.log('skipped: this process may not mount a tmpfs');
      return;
    }
    const minFree = 8 * 1024 * 1024;
    const server = await startStandalone({ kv, dataDir: fs.dir, extraArgs: ['--min-free-disk-bytes', String(minFree)] });
    const client = new RawOxiaClient(server.address);
    const health = new HealthClient(server.address);
    try {
      const [layout] = await client.shards();
      const shard = layout!.shard;
      const r = await client.put(shard, { key: '/a', value: Buffer.from('a') });
      assert.is(r.puts[0]?.status, Status.OK);

      fs.fill(FILLER, minFree - 2 * 1024 * 1024);
      let refused: grpc.ServiceError | undefined;
      await waitFor(async () => {
        try {
          await withTimeout(client.put(shard, { key: '/b', value: Buffer.from('b') }), 5_000, 'a put');
          return false;
        } catch (e) {
          refused = e as grpc.ServiceError;
          return typeof refused.code === 'number';
        }
      }, 'writes to be refused below the free-space threshold', 15_000, 100);
      const parsed = parseGrpcError(refused!);
      assert.is(parsed.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.is(parsed.reason, 'DISK_FULL');
      assert.match(parsed.message, /min-free-disk-bytes/);
      assert.ok(fs.freeBytes() > 1024 * 1024, 'the disk was not full');
      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.NOT_SERVING, 'readiness NOT_SERVING');
      assert.is((await client.get(shard, '/a')).status, Status.OK, 'reads go on');

      fs.free(FILLER);
      await waitFor(async () => {
        try {
          return (await client.put(shard, { key: '/c', value: Buffer.from('c') })).puts[0]?.status === Status.OK;
        } catch {
          return false;
        }
      }, 'writes again once there is room', 30_000, 100);
      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.SERVING, 'readiness SERVING again');
      assert.is((await client.get(shard, '/a')).status, Status.OK);
    } finally {
      client.close();
      health.close();
      await server.stop();
      fs.unmount();
    }
  });
}
