// `--profile` on a real `oxia-ts standalone`: off by default; on, it serves a CPU profile and
// a heap snapshot of the server process on --profile-bind-address; a bad address is a usage
// error naming the flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT_USAGE } from '../../src/bootstrap/cli/exit-codes.js';
import { runCli } from '../cli/support.js';
import { httpGet, scrapeMetrics } from '../support/metrics-scrape.js';
import { startStandalone } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';

function profilingLine(logs: readonly string[]): { profileAddress?: string } | undefined {
  const line = logs.find((l) => l.includes('"msg":"profiling"'));
  return line === undefined ? undefined : (JSON.parse(line) as { profileAddress?: string });
}

test('--profile serves a CPU profile and a heap snapshot of the server', async () => {
  const server = await startStandalone({ extraArgs: ['--profile', '--profile-bind-address', '127.0.0.1:0'] });
  try {
    await waitFor(() => profilingLine(server.logs()) !== undefined, 'the "profiling" log line');
    const address = profilingLine(server.logs())!.profileAddress!;
    assert.match(address, /^127\.0\.0\.1:\d+$/);

    const cpu = await httpGet(address, '/debug/pprof/profile?seconds=1');
    assert.is(cpu.status, 200, cpu.body.slice(0, 200));
    const profile = JSON.parse(cpu.body) as { nodes: unknown[]; samples: unknown[] };
    assert.ok(profile.nodes.length > 0 && Array.isArray(profile.samples), 'a .cpuprofile');

    const heap = await httpGet(address, '/debug/pprof/heap');
    assert.is(heap.status, 200);
    const snapshot = JSON.parse(heap.body) as { snapshot: { node_count: number }; strings: string[] };
    assert.ok(snapshot.snapshot.node_count > 1000, 'a .heapsnapshot');
    assert.ok(snapshot.strings.includes('LeaderShard'), "the server's own objects are in it");

    assert.is((await scrapeMetrics(server.metricsAddress)).value('oxia_server_wal_entries', { oxia_namespace: 'default', shard: '0' }), 0, 'and the server serves on');
  } finally {
    assert.is(await server.stop(), 0, 'stops cleanly with the profiling endpoint open');
  }
});

test('off by default', async () => {
  const server = await startStandalone();
  try {
    // Started after the "serving" line; by a scrape later it would have been logged.
    await scrapeMetrics(server.metricsAddress);
    await scrapeMetrics(server.metricsAddress);
    assert.is(profilingLine(server.logs()), undefined);
  } finally {
    await server.stop();
  }
});

test('a bad --profile-bind-address is a usage error naming the flag', async () => {
  const result = await runCli(['standalone', '--profile', '--profile-bind-address', 'nowhere', '--public-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0']);
  assert.is(result.code, EXIT_USAGE, result.stderr);
  assert.match(result.stderr, '--profile-bind-address');
});

test.run();
