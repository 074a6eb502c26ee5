// WriteRecovery (ADR 0029) driven by a virtual clock, with the real parts around it: the disk
// probe on a real directory (made unwritable by a file standing where it must be), the health
// board, prom-client metrics and pino. A storage failure holds readiness and the whole node's
// health (liveness stays), probes back off while the disk refuses, and a passing probe reopens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskProbe } from '../../src/adapters/files/disk-probe.js';
import { HealthStatusBoard, LIVENESS_HEALTH_SERVICE, ServingStatus } from '../../src/adapters/grpc/health-service.js';
import { PinoLogger } from '../../src/adapters/logging/pino-logger.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { ShardMetrics } from '../../src/application/shard/shard-metrics.js';
import { WriteRecovery } from '../../src/application/shard/write-recovery.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait.js';

/** The probe does real I/O: virtual time moves on in steps while it completes. */
async function advanceUntil(clock: VirtualClock, condition: () => boolean, what: string): Promise<void> {
  await waitFor(async () => {
    await clock.advance(100);
    return condition();
  }, what, 10_000, 5);
}

function setup(dir: string, minFreeBytes = 0) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const clock = new VirtualClock();
  const board = new HealthStatusBoard();
  board.setAll(ServingStatus.SERVING);
  const metrics = new PromMetrics();
  const ref = { namespace: 'default', shard: 7n };
  const events: string[] = [];
  const reopenFailures: Error[] = [];
  const recovery = new WriteRecovery(
    ref,
    {
      probe: new DiskProbe({ dirs: [dir], minFreeBytes }),
      clock,
      log: new PinoLogger({ level: 'info', destination: sink }),
      readiness: board,
      metrics: ShardMetrics.of(metrics, ref),
      random: () => 0.5,
    },
    {
      stopWriting: async (cause) => void events.push(`stop: ${cause.kind}`),
      reopen: async () => {
        const failure = reopenFailures.shift();
        events.push(failure ? 'reopen failed' : 'reopened');
        if (failure) throw failure;
      },
    },
  );
  const gauge = async (reason: string): Promise<string | undefined> =>
    (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith('oxia_server_storage_unwritable{') && l.includes(`reason="${reason}"`));
  return { clock, board, recovery, events, lines, reopenFailures, gauge };
}

test('a storage failure holds readiness and health until a probe passes and the files reopen', async () => {
  const root = mkdtempSync(join(tmpdir(), 'oxia-write-recovery-'));
  try {
    // A file where the probe must create its directory: every write probe fails.
    const dir = join(root, 'wal');
    writeFileSync(dir, 'not a directory');
    const { clock, board, recovery, events, lines, reopenFailures, gauge } = setup(dir);

    recovery.enter(new OxiaError('DiskFull', 'WAL append failed: disk full (ENOSPC)'));
    recovery.enter(new OxiaError('StorageFailed', 'a second failure while recovering changes nothing'));
    await clock.advance(0);
    assert.is(recovery.cause?.kind, 'DiskFull');
    assert.equal(events, ['stop: DiskFull']);
    assert.is(board.get('oxia-readiness'), ServingStatus.NOT_SERVING);
    assert.is(board.get(''), ServingStatus.NOT_SERVING, 'the coordinator sees the node unhealthy');
    assert.is(board.get(LIVENESS_HEALTH_SERVICE), ServingStatus.SERVING, 'liveness is not affected');
    assert.match((await gauge('disk_full')) ?? '', / 1$/);
    assert.ok(lines.some((l) => l.includes('shard cannot write') && l.includes('disk_full')), 'the log line names the reason');

    // Probes go on while the disk refuses; the cause follows what they meet.
    await advanceUntil(clock, () => recovery.cause?.kind === 'StorageFailed', 'a probe to meet the unwritable directory');
    assert.match((await gauge('io_error')) ?? '', / 1$/);
    await clock.advance(30_000);
    assert.equal(events, ['stop: DiskFull'], 'no reopen while the probe fails');

    // The disk takes writes again, but the first reopen fails: probing goes on.
    rmSync(dir);
    reopenFailures.push(new Error('store locked'));
    await advanceUntil(clock, () => events.includes('reopen failed'), 'a reopen attempt');
    assert.ok(recovery.cause, 'still unwritable after a failed reopen');
    assert.is(board.get('oxia-readiness'), ServingStatus.NOT_SERVING);

    await advanceUntil(clock, () => events.includes('reopened'), 'the files reopened');
    assert.equal(events, ['stop: DiskFull', 'reopen failed', 'reopened']);
    assert.is(recovery.cause, undefined);
    assert.is(board.get('oxia-readiness'), ServingStatus.SERVING);
    assert.is(board.get(''), ServingStatus.SERVING);
    assert.match((await gauge('io_error')) ?? '', / 0$/);
    assert.match((await gauge('disk_full')) ?? '', / 0$/);
    assert.ok(lines.some((l) => l.includes('shard writes again')));

    // A later failure starts over.
    recovery.enter(new OxiaError('StorageFailed', 'EIO'));
    await clock.advance(0);
    assert.is(board.get('oxia-readiness'), ServingStatus.NOT_SERVING);
    recovery.close();
    assert.is(board.get('oxia-readiness'), ServingStatus.SERVING, 'closing the shard releases readiness');
    await clock.advance(60_000);
    assert.is(events.filter((e) => e === 'reopened').length, 1, 'no probe after close');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the disk probe refuses below --min-free-disk-bytes, naming the flag, and passes above it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'oxia-disk-probe-'));
  try {
    const short = await new DiskProbe({ dirs: [join(root, 'db', 'not-yet-created')], minFreeBytes: Number.MAX_SAFE_INTEGER }).probeWrite();
    assert.is(short?.kind, 'DiskFull');
    assert.match(short?.message ?? '', /--min-free-disk-bytes/);
    assert.is(await new DiskProbe({ dirs: [join(root, 'db'), join(root, 'wal')], minFreeBytes: 1 }).probeWrite(), undefined);
    assert.is(await new DiskProbe({ dirs: [join(root, 'db')], minFreeBytes: 0 }).shortage(), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
