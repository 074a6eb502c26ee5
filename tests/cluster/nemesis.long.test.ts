// The long version of tests/cluster/nemesis.test.ts (`npm run test:long`): several seeds, each
// a few minutes of faults drawn at random (SIGSTOP of a leader, a leader or a minority parted
// from the rest, SIGKILL of a leader and restart, SIGKILL of the coordinator alone or with a
// leader and a new coordinator), on 3 nodes (once with the coordinator's default
// health checks) and on 5. Each seed's history must be linearizable and keep every acknowledged
// write. NEMESIS_SEED=<seed> (with NEMESIS_NODES, NEMESIS_FAST_CHECKS=1) runs that seed only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNemesis } from './support/nemesis.js';

const given = process.env.NEMESIS_SEED !== undefined ? Number(process.env.NEMESIS_SEED) : undefined;
const first = Math.floor(Math.random() * 1_000_000);
const runs: ReadonlyArray<{ seed: number; nodes: number; fastChecks: boolean }> =
  given !== undefined
    ? [{ seed: given, nodes: Number(process.env.NEMESIS_NODES ?? 3), fastChecks: process.env.NEMESIS_FAST_CHECKS === '1' }]
    : [
        { seed: first, nodes: 3, fastChecks: false },
        // The coordinator's default health checks: shorter freezes and partitions cause elections.
        { seed: first + 1, nodes: 3, fastChecks: true },
        { seed: first + 2, nodes: 5, fastChecks: false },
      ];

for (const { seed, nodes, fastChecks } of runs) {
  test(`seed ${seed}, ${nodes} nodes${fastChecks ? ', default health checks' : ''}: 40 faults at random, the history is linearizable`, async () => {
    const result = await runNemesis({
      seed,
      nodes,
      shards: 3,
      steps: 40,
      holdMs: [500, 5_000],
      gapMs: [0, 2_000],
      callers: 6,
      keys: 8,
      requestTimeoutMs: 3_000,
      thinkMsMax: 40,
      defaultHealthChecks: fastChecks,
      replay: `NEMESIS_SEED=${seed} NEMESIS_NODES=${nodes}${fastChecks ? ' NEMESIS_FAST_CHECKS=1' : ''} npm run test:long -- tests/cluster/nemesis.long.test.ts`,
    });
    assert.ok(result.operations > 1_000, `only ${result.operations} operations were recorded`);
    assert.ok(result.problems.length === 0, `seed ${seed}:\n${result.problems.join('\n\n')}`);
  });
}

test.run();
