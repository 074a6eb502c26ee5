// `oxia-ts perf` as users run it, against a real `oxia-ts standalone`: a short run
// prints live JSON lines and a well-formed summary with nonzero operations; SIGINT ends
// a run early with its summary; bad flags exit 2.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';
import { runCli, startCli } from './support.js';

const S = suite('oxia-ts perf');
let server: StandaloneProcess;

S.before(async () => {
  server = await startStandalone({ shards: 2 });
});
S.after(async () => {
  await server?.stop();
});

const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

function assertFigures(f: Record<string, any>, what: string): void {
  for (const kind of ['write', 'read']) {
    const k = f[kind];
    assert.type(k?.ops, 'number', `${what} ${kind}.ops`);
    assert.type(k?.opsPerSec, 'number', `${what} ${kind}.opsPerSec`);
    assert.type(k?.failed, 'number', `${what} ${kind}.failed`);
    for (const p of ['p50', 'p95', 'p99', 'p999', 'max', 'mean']) assert.type(k?.latencyMs?.[p], 'number', `${what} ${kind}.latencyMs.${p}`);
    const l = k.latencyMs;
    if (k.ops > 0) assert.ok(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${what} ${kind} percentiles in order: ${JSON.stringify(l)}`);
  }
  assert.is(f['ops'], f['write'].ops + f['read'].ops);
}

S('a short run at a fixed rate: interval lines, then a summary with nonzero ops', async () => {
  const r = await runCli(['perf', '-a', server.address, '--rate', '200', '--duration', '3s', '--report-interval', '1s', '--json']);
  assert.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  const summary = out.at(-1)!;
  assert.is(summary['type'], 'summary');
  assert.ok(out.slice(0, -1).length >= 1 && out.slice(0, -1).every((l) => l['type'] === 'interval'), 'interval lines first');
  for (const l of out.slice(0, -1)) assertFigures(l, 'interval');
  assertFigures(summary, 'summary');
  assert.ok(summary['ops'] > 0);
  assert.is(summary['failed'], 0);
  assert.ok(summary['write'].ops > 0 && summary['read'].ops > summary['write'].ops, '80% reads by default');
  // About the asked rate (open loop): 200 ops/s for 3 s, allowing for a loaded machine.
  assert.ok(summary['ops'] >= 300 && summary['ops'] <= 700, `ops ${summary['ops']}`);
  assert.equal(
    { rate: summary['config'].rate, readPercentage: summary['config'].readPercentage, keysCardinality: summary['config'].keysCardinality, valueSizeBytes: summary['config'].valueSizeBytes, maxRequestsPerBatch: summary['config'].maxRequestsPerBatch, batchLingerMs: summary['config'].batchLingerMs },
    { rate: 200, readPercentage: 80, keysCardinality: 1000, valueSizeBytes: 128, maxRequestsPerBatch: 1000, batchLingerMs: 5 },
  );
});

S('--rate 0 runs as fast as possible until SIGINT, then prints the summary (human output)', async () => {
  const run = startCli(['perf', '-a', server.address, '--rate', '0', '--max-in-flight', '64', '-p', '50', '--report-interval', '1s']);
  try {
    await waitFor(() => /^\[\d+s\] [\d.]+ ops\/s/m.test(run.stdout()), 'a live line', 60_000);
  } finally {
    assert.is(await run.interrupt('SIGINT'), 0, run.stderr());
  }
  const line = run.stdout().split('\n').find((l) => l.startsWith('['))!;
  assert.match(line, /write [\d.]+\/s p50 [\d.]+ p95 [\d.]+ p99 [\d.]+ p99\.9 [\d.]+ max [\d.]+ ms \| read /);
  const summary = /^Summary: (\d+) ops in [\d.]+ s = [\d.]+ ops\/s, (\d+) failed$/m.exec(run.stdout());
  assert.ok(summary !== null, run.stdout());
  assert.ok(Number(summary[1]) > 0);
});

S('bad flags exit 2 and name the flag', async () => {
  const r = await runCli(['perf', '-a', server.address, '--read-write-percent', '120', '--rate', 'fast']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--rate: must be a number, got "fast"/);
  const range = await runCli(['perf', '-a', server.address, '--read-write-percent', '120']);
  assert.is(range.code, 2);
  assert.match(range.stderr, /read-write-percent must be from 0 to 100/);
});

S.run();
