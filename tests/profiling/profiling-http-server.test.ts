// The profiling endpoint over real HTTP on loopback: a CPU profile of the requested seconds
// (a V8 .cpuprofile that saw the work done meanwhile), a heap snapshot (a V8 .heapsnapshot),
// one recording at a time, and bad requests refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Logger } from '../../src/application/ports/logger.js';
import { ProfilingHttpServer } from '../../src/adapters/profiling/profiling-http-server.js';
import { httpGet } from '../support/metrics-scrape.js';
import { waitFor } from '../support/wait.js';

/** Keeps what the server logs: a recording has started once it says so. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = { debug() {}, info: (msg) => void lines.push(msg), warn() {}, error: (msg) => void lines.push(msg), child: () => logger };
  return logger;
}

async function started(): Promise<{ server: ProfilingHttpServer; address: string; logged: string[] }> {
  const logged: string[] = [];
  const server = new ProfilingHttpServer({ host: '127.0.0.1', port: 0 }, recordingLogger(logged));
  const { host, port } = await server.listen();
  return { server, address: `${host}:${port}`, logged };
}

/**
 * Runs `work(untilMs)` for `forMs` in 20 ms slices, so that the HTTP request and the profiler's
 * timer get their turns in between.
 */
async function workInSlices(work: (untilMs: number) => unknown, forMs: number): Promise<void> {
  const endMs = Date.now() + forMs;
  while (Date.now() < endMs) {
    work(Date.now() + 20);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A function V8 will find on the CPU while the profile records. */
function spinNamedForTheProfile(untilMs: number): number {
  let x = 0;
  while (Date.now() < untilMs) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

test('a CPU profile of the requested seconds, in the .cpuprofile format, seeing the work done meanwhile', async () => {
  const { server, address } = await started();
  try {
    const pending = httpGet(address, '/debug/pprof/profile?seconds=1');
    await workInSlices(spinNamedForTheProfile, 600);
    const { status, body } = await pending;
    assert.is(status, 200, body.slice(0, 200));
    const profile = JSON.parse(body) as { nodes: Array<{ callFrame: { functionName: string } }>; startTime: number; endTime: number; samples: number[] };
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0, 'call tree nodes');
    assert.ok(profile.samples.length > 0, 'samples');
    const recordedMs = (profile.endTime - profile.startTime) / 1000;
    assert.ok(recordedMs >= 900, `recorded about the 1 s asked for: ${recordedMs} ms`);
    assert.ok(
      profile.nodes.some((n) => n.callFrame.functionName === 'spinNamedForTheProfile'),
      'the function busy during the recording is in the profile',
    );
  } finally {
    await server.close();
  }
});

/** Allocates short-lived arrays the allocation profile must find, though all are garbage by then. */
function allocateNamedForTheProfile(untilMs: number): number {
  let total = 0;
  while (Date.now() < untilMs) total += new Array(1024).fill(total).length;
  return total;
}

test('an allocation profile of the requested seconds, in the .heapprofile format, counting what was already collected', async () => {
  const { server, address } = await started();
  try {
    const pending = httpGet(address, '/debug/pprof/allocs?seconds=1');
    await workInSlices(allocateNamedForTheProfile, 600);
    const { status, body, headers } = await pending;
    assert.is(status, 200, body.slice(0, 200));
    assert.match(String(headers['content-disposition']), /\.heapprofile"$/);
    interface AllocNode { callFrame: { functionName: string }; selfSize: number; children: AllocNode[] }
    const profile = JSON.parse(body) as { head: AllocNode; samples: unknown[] };
    assert.ok(profile.samples.length > 0, 'samples');
    const bytesIn = (n: AllocNode, name: string): number =>
      (n.callFrame.functionName === name ? n.selfSize : 0) + n.children.reduce((sum, c) => sum + bytesIn(c, name), 0);
    // Every array it made was garbage within microseconds: only a profile that keeps collected
    // objects still has them at the end.
    const bytes = bytesIn(profile.head, 'allocateNamedForTheProfile');
    assert.ok(bytes > 1024 * 1024, `the allocating function's bytes are in the profile: ${bytes}`);
  } finally {
    await server.close();
  }
});

test('a heap snapshot in the .heapsnapshot format', async () => {
  const { server, address } = await started();
  try {
    const { status, body } = await httpGet(address, '/debug/pprof/heap');
    assert.is(status, 200);
    const snapshot = JSON.parse(body) as { snapshot: { meta: { node_fields: string[] }; node_count: number }; nodes: number[]; strings: string[] };
    assert.ok(snapshot.snapshot.meta.node_fields.includes('name'), 'V8 snapshot metadata');
    assert.ok(snapshot.snapshot.node_count > 1000, `a whole heap: ${snapshot.snapshot.node_count} nodes`);
    assert.is(snapshot.nodes.length, snapshot.snapshot.node_count * snapshot.snapshot.meta.node_fields.length, 'every node is there');
    assert.ok(snapshot.strings.includes('ProfilingHttpServer'), 'the process\'s own classes are in it');
  } finally {
    await server.close();
  }
});

test('one recording at a time; bad durations, other paths and methods refused; the index lists all three', async () => {
  const { server, address, logged } = await started();
  try {
    const first = httpGet(address, '/debug/pprof/profile?seconds=2');
    await waitFor(() => logged.includes('CPU profile started'), 'the CPU profile to start');
    assert.is((await httpGet(address, '/debug/pprof/heap')).status, 409, 'a second recording waits for the first');
    assert.is((await httpGet(address, '/debug/pprof/profile?seconds=1')).status, 409, 'so does a second CPU profile');
    assert.is((await httpGet(address, '/debug/pprof/allocs?seconds=1')).status, 409, 'and an allocation profile');
    assert.is((await first).status, 200);
    assert.is((await httpGet(address, '/debug/pprof/heap')).status, 200, 'free again afterwards');

    for (const bad of ['0', '-1', 'abc', '601']) {
      assert.is((await httpGet(address, `/debug/pprof/profile?seconds=${bad}`)).status, 400, `seconds=${bad}`);
    }
    assert.is((await httpGet(address, '/debug/pprof/goroutine')).status, 404);
    const index = await httpGet(address, '/debug/pprof/');
    assert.is(index.status, 200);
    assert.match(index.body, '/debug/pprof/profile?seconds=N');
    assert.match(index.body, '/debug/pprof/heap');
    assert.match(index.body, '/debug/pprof/allocs?seconds=N');
  } finally {
    await server.close();
  }
});

test('close() ends a recording in progress', async () => {
  const { server, address, logged } = await started();
  const pending = httpGet(address, '/debug/pprof/profile?seconds=600').catch((e: unknown) => e);
  await waitFor(() => logged.includes('CPU profile started'), 'the CPU profile to start');
  const startedMs = Date.now();
  await server.close();
  await pending;
  assert.ok(Date.now() - startedMs < 10_000, 'not the 600 s asked for');
});

test.run();
