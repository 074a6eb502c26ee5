// `oxia-ts cluster`: the one-command local cluster. It prints the client address once every
// shard has a leader, serves data, stops every process on SIGINT with exit 0, and a second run
// on the same folder continues with the same data.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'oxia-dev-cluster-'));
const live = new Set<ReturnType<typeof spawn>>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly clientAddress: string;
  readonly addresses: readonly string[];
  readonly output: () => string;
  /** SIGINT, then the exit code. */
  interrupt(): Promise<number | null>;
}

async function runCluster(): Promise<Run> {
  const child = spawn(process.execPath, [OXIA_TS_BIN, 'cluster', '--dir', dir, '--nodes', '3', '--shards', '2', '--base-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  await waitFor(() => /ready; clients connect to /.test(out) || child.exitCode !== null, 'the ready line', 120_000, 100);
  const m = /ready; clients connect to (\S+)/.exec(out);
  if (!m) throw new Error(`no ready line:\n${out}`);
  return {
    clientAddress: m[1]!,
    addresses: [...out.matchAll(/(?:public|internal|metrics) (127\.0\.0\.1:\d+)/g)].map((x) => x[1]!),
    output: () => out,
    interrupt: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

function accepts(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function putAndGet(address: string, key: string, value?: string): Promise<string | undefined> {
  const entry = new RawOxiaClient(address);
  try {
    const shards = await entry.shards();
    const shard = RawOxiaClient.shardFor(shards, key);
    const leader = new RawOxiaClient(shards.find((s) => s.shard === shard)!.leader);
    try {
      if (value !== undefined) assert.is((await leader.put(shard, { key, value: Buffer.from(value) })).puts[0]?.status, Status.OK);
      const g = await leader.get(shard, key);
      return g.status === Status.OK ? Buffer.from(g.value!).toString() : undefined;
    } finally {
      leader.close();
    }
  } finally {
    entry.close();
  }
}

test('oxia-ts cluster starts, serves, stops cleanly on SIGINT, and keeps its data for the next run', async () => {
  const first = await runCluster();
  assert.is(first.addresses.length, 3 * 3 + 2, first.output());
  assert.is(await putAndGet(first.clientAddress, '/dev/hello', 'world'), 'world');
  for (const f of ['cluster.yaml', 'cluster-status.json', 'coordinator.log', 'node-0.log', 'node-2/db']) assert.ok(existsSync(join(dir, f)), f);
  assert.match(readFileSync(join(dir, 'cluster.yaml'), 'utf8'), /name: node-1/);

  assert.is(await first.interrupt(), 0, first.output());
  assert.match(first.output(), /stopped/);
  for (const a of first.addresses) assert.not.ok(await accepts(a), `nothing listens on ${a} any more`);

  const second = await runCluster();
  try {
    assert.is(await putAndGet(second.clientAddress, '/dev/hello'), 'world', 'the data of the first run');
  } finally {
    assert.is(await second.interrupt(), 0, second.output());
  }
});

test.run();
