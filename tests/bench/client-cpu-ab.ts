/**
 * The client's CPU per operation, two builds of the client library compared in one process
 * against one `oxia-ts standalone` (3 shards): rounds alternate between the two, so both see the
 * same machine load, which on a shared machine moves whole-cluster figures (cpu-per-op.ts) by
 * more than a client change does. Each round: 256 closed-loop callers (as --compare) for
 * --round, then this process's user+system CPU divided by the operations completed. Not part
 * of `npm test`.
 *
 *   node --import tsx tests/bench/client-cpu-ab.ts <package root A> <package root B>
 *        [--ops get,put] [--callers 256] [--rounds 6] [--round 3s]
 *
 * Each root must hold a fresh compiled build (dist/, `npm run build` there). Prints per
 * operation and build the median and range of µs per op, B's median over A's, and the median of
 * the ratios of back-to-back rounds.
 */
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { startStandalone } from '../support/standalone.js';
import { closedLoop, writeAll } from './compare/load/closed-loop.js';

type ClientModule = typeof import('../../src/adapters/client/index.js');
type Client = Awaited<ReturnType<ClientModule['OxiaClient']['connect']>>;

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ops: { type: 'string', default: 'get,put' },
    callers: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '6' },
    round: { type: 'string', default: '3s' },
  },
});
if (positionals.length !== 2) throw new Error('usage: client-cpu-ab.ts <package root A> <package root B>');
const roundMs = parseDurationMs(flags.round) ?? 3000;
const callers = Number(flags.callers);
const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
const value = randomFillSync(Buffer.alloc(128));

const server = await startStandalone({ shards: 3 });
try {
  const clients: Client[] = [];
  for (const root of positionals) {
    const module = (await import(pathToFileURL(join(root, 'dist', 'src', 'adapters', 'client', 'index.js')).href)) as ClientModule;
    clients.push(await module.OxiaClient.connect(server.address));
  }
  await writeAll(async (k) => void (await clients[0]!.put(k, value)), keys, 64);
  for (const op of flags.ops.split(',')) {
    const runs = clients.map((c) =>
      op === 'put'
        ? async (k: string) => void (await c.put(k, value))
        : async (k: string) => {
            const got = await c.get(k);
            if (got.value?.length !== value.length) throw new Error(`bad value for ${k}`);
          },
    );
    const perOp: number[][] = runs.map(() => []);
    // A warm-up round each, unmeasured.
    for (const run of runs) await closedLoop(run, keys, callers, 1000);
    for (let r = 0; r < Number(flags.rounds); r++) {
      // Alternate which build goes first.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const before = process.cpuUsage();
        const { figures } = await closedLoop(runs[i]!, keys, callers, roundMs);
        const cpu = process.cpuUsage(before);
        perOp[i]!.push((cpu.user + cpu.system) / figures.ops);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    positionals.forEach((root, i) => {
      const xs = perOp[i]!;
      process.stdout.write(`${op} ${root}: client CPU ${median(xs).toFixed(2)} us/op median (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}, ${xs.length} rounds)\n`);
    });
    // Rounds r of A and B ran back to back: their ratio is the least disturbed by load changes.
    const ratios = perOp[1]!.map((b, r) => b / perOp[0]![r]!);
    process.stdout.write(`${op}: B/A of medians ${(median(perOp[1]!) / median(perOp[0]!)).toFixed(3)}, median of paired B/A ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})\n`);
  }
  for (const c of clients) await c.close();
} finally {
  await server.stop();
}
process.exit(0);
