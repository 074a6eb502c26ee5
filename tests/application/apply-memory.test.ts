// The heap an entry's apply needs does not grow with the records it removes: a delete range
// and a session end over 200,000 records, applied by a replica's batch writer in a child
// process with 128 MiB of heap, sampled after a full GC at every store write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/apply-child.ts', import.meta.url));

for (const [backend, what] of [['sqlite', 'range'], ['level', 'range'], ['sqlite', 'session']] as const) {
  test(`${backend}: a ${what === 'range' ? 'delete range' : 'session end'} over 200,000 records keeps the heap flat`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oxia-apply-memory-'));
    try {
      // 128 MiB of heap: the whole-entry apply needed about 650 bytes per record (130 MiB here).
      const out = await runChildToEnd(['--expose-gc', '--max-old-space-size=128'], ['memory', backend, dir, '200000', what]);
      const m = JSON.parse(out) as { baseline: number; peak: number; writes: number; ms: number; recordsLeft: number };
      assert.is(m.recordsLeft, 0, 'every record deleted');
      assert.ok(m.writes > 10, `written in chunks (${m.writes} writes)`);
      const growth = m.peak - m.baseline;
      assert.ok(growth < 16 * 1024 * 1024, `the live heap grew by ${(growth / 1048576).toFixed(1)} MiB while applying`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function runChildToEnd(nodeFlags: string[], args: string[]): Promise<string> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      const deadline = setTimeout(() => reject(new Error(`the child did not finish in time: ${err}`)), 400_000);
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code, signal) => {
        clearTimeout(deadline);
        if (code === 0) resolve(out.trim());
        else reject(new Error(`the child failed (${code ?? signal}): ${err.slice(-2000)}`));
      });
    });
  } finally {
    await stopped(child);
  }
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

test.run();
