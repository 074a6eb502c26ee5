// kill -9 durability of the file WAL: a child process appends in a loop and prints every
// offset whose append resolved; we SIGKILL it at a random moment, reopen the log and check
// that every acknowledged entry is there with its content, several times over one log.
//
// This file is also the child: with OXIA_WAL_CHILD_DIR set it runs the append loop instead
// of the tests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';

const SHARD: ShardRef = { namespace: 'durability', shard: 0n };
const SEGMENT_SIZE_BYTES = 64 * 1024; // small, so kills also land around segment rollovers
const APPENDS_IN_FLIGHT_MAX = 16;

/** Deterministic content, so the parent can check what the child wrote. */
function valueFor(offset: bigint, term: bigint): Uint8Array {
  const size = Number((offset * 7919n + term * 104_729n) % 1500n);
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = Number((offset + term * 13n + BigInt(i)) & 0xffn);
  return v;
}

async function childMain(dir: string, term: bigint): Promise<void> {
  const wal = await new FileWalFactory({ dir, segmentSizeBytes: SEGMENT_SIZE_BYTES }).open(SHARD);
  let next = wal.lastEntryId().offset + 1n;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  process.stdout.write(`ready ${next}\n`);
  for (;;) {
    if (inFlight >= APPENDS_IN_FLIGHT_MAX) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    const batch: LogEntry[] = [];
    const count = 1 + Number(next % 4n);
    for (let k = 0; k < count; k++, next++) batch.push({ term, offset: next, timestamp: BigInt(Date.now()), value: valueFor(next, term) });
    inFlight++;
    wal.append(batch).then(
      () => {
        // Pipes are written synchronously on Linux: a printed ack reached the parent.
        process.stdout.write(batch.map((e) => `ack ${e.offset} ${e.term}\n`).join(''));
        inFlight--;
        const w = wake;
        wake = undefined;
        w?.();
      },
      (e: unknown) => {
        process.stderr.write(`append failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  }
}

interface Child {
  readonly proc: ChildProcess;
  /** Resolves once `acks` (offset -> term) holds at least `n` more entries than when asked; rejects if the child exits. */
  waitForAcks(n: number, timeoutMs: number): Promise<void>;
  stderr(): string;
}

function startChild(dir: string, term: bigint, acks: Map<bigint, bigint>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, OXIA_WAL_CHILD_DIR: dir, OXIA_WAL_CHILD_TERM: term.toString() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  let err = '';
  let waiter: (() => void) | undefined;
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!; // a line cut by the kill is not an acknowledgement we saw
    for (const line of lines) {
      const m = /^ack (\d+) (\d+)$/.exec(line);
      if (m) acks.set(BigInt(m[1]!), BigInt(m[2]!));
    }
    waiter?.();
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => (err += chunk));
  return {
    proc,
    stderr: () => err,
    waitForAcks(n, timeoutMs) {
      const target = acks.size + n;
      return new Promise<void>((resolve, reject) => {
        const done = (e?: Error) => {
          clearTimeout(timer);
          proc.off('exit', onExit);
          waiter = undefined;
          if (e) reject(e);
          else resolve();
        };
        const onExit = (code: number | null, signal: string | null) => done(new Error(`child exited early (${code ?? signal}): ${err}`));
        const timer = setTimeout(() => done(new Error(`only ${acks.size} of ${target} acks after ${timeoutMs} ms: ${err}`)), timeoutMs);
        waiter = () => {
          if (acks.size >= target) done();
        };
        proc.on('exit', onExit);
        waiter();
      });
    },
  };
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGKILL');
  await exited;
}

test('every acknowledged append survives kill -9 at a random moment, round after round', async () => {
  const root = mkdtempSync(join(tmpdir(), 'oxia-wal-kill-'));
  const acks = new Map<bigint, bigint>();
  let child: Child | undefined;
  try {
    for (let round = 1n; round <= 4n; round++) {
      child = startChild(root, round, acks);
      await child.waitForAcks(100 + Math.floor(Math.random() * 1500), 120_000);
      await kill(child.proc);
      assert.is(child.proc.signalCode, 'SIGKILL', `the child was killed, not crashed: ${child.stderr()}`);

      const wal = await new FileWalFactory({ dir: root, segmentSizeBytes: SEGMENT_SIZE_BYTES }).open(SHARD);
      try {
        assert.is(wal.firstOffset(), 0n);
        const found = new Map<bigint, LogEntry>();
        let expected = 0n;
        for await (const e of wal.read(0n)) {
          assert.is(e.offset, expected, 'dense offsets');
          expected++;
          found.set(e.offset, e);
        }
        assert.is(wal.lastEntryId().offset, expected - 1n);
        for (const [offset, term] of acks) {
          const e = found.get(offset);
          assert.ok(e !== undefined, `round ${round}: acknowledged offset ${offset} is missing (log ends at ${expected - 1n}, cut: ${JSON.stringify(wal.recoveryCut, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))})`);
          assert.is(e.term, term, `term of offset ${offset}`);
          assert.ok(Buffer.from(e.value).equals(Buffer.from(valueFor(offset, term))), `content of offset ${offset}`);
        }
      } finally {
        await wal.close();
      }
    }
    assert.ok(acks.size >= 400, `${acks.size} acknowledged entries checked`);
  } finally {
    if (child) await kill(child.proc);
    rmSync(root, { recursive: true, force: true });
  }
});

const childDir = process.env.OXIA_WAL_CHILD_DIR;
if (childDir !== undefined) {
  await childMain(childDir, BigInt(process.env.OXIA_WAL_CHILD_TERM ?? '1'));
} else {
  test.run();
}
