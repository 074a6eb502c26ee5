// The disk space gauges show what the free-space check last read (one reader of the
// directories' space, adapters/files/disk-space.ts): nothing before the first check, the
// check's reading after it, and no series for a directory that is not there.
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskProbe } from '../../src/adapters/files/disk-probe.js';
import { DiskSpaceReadings } from '../../src/adapters/files/disk-space.js';
import { DiskSpaceMetrics } from '../../src/adapters/metrics/disk-space-metrics.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { parseExposition } from '../support/metrics-scrape.js';

test('the gauges export the free-space check readings, without reading the disk themselves', async () => {
  const root = mkdtempSync(join(tmpdir(), 'oxia-disk-space-'));
  try {
    const data = join(root, 'data');
    const wal = join(root, 'wal');
    mkdirSync(data);
    const readings = new DiskSpaceReadings();
    // No threshold: the check still reads, for the metrics.
    const probe = new DiskProbe({ dirs: [data, wal], minFreeBytes: 0 }, readings);
    const metrics = new PromMetrics();
    const gauges = new DiskSpaceMetrics(metrics, { data, wal }, readings);
    gauges.start();
    const scrape = async () => parseExposition((await metrics.exposition()).body);

    // Before the watch's first reading a scrape takes its own, of the directories that are there.
    assert.ok(((await scrape()).value('oxia_server_disk_size_bytes', { dir: 'data' }) ?? 0) > 0, 'read at the first scrape');
    assert.is((await scrape()).value('oxia_server_disk_free_bytes', { dir: 'wal' }), undefined, 'not there: no series');

    assert.is(await probe.shortage(), undefined);
    const fs = statfsSync(data);
    const m = await scrape();
    assert.is(m.value('oxia_server_disk_size_bytes', { dir: 'data' }), fs.blocks * fs.bsize);
    assert.is(m.value('oxia_server_disk_free_bytes', { dir: 'data' }), readings.lastOrNow(data)?.freeBytes);
    assert.is(m.value('oxia_server_disk_free_bytes', { dir: 'wal' }), undefined, 'a directory not there has no series');

    mkdirSync(wal);
    assert.is(await probe.shortage(), undefined);
    assert.ok(((await scrape()).value('oxia_server_disk_size_bytes', { dir: 'wal' }) ?? 0) > 0, 'the wal directory once it is there');

    rmSync(data, { recursive: true });
    assert.is(await probe.shortage(), undefined, 'a missing directory is checked on its parent file system');
    assert.is((await scrape()).value('oxia_server_disk_free_bytes', { dir: 'data' }), undefined, 'and has no series of its own');
    gauges.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
