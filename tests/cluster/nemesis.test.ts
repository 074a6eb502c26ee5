// Real processes under a nemesis (tests/cluster/support/nemesis.ts): a 3-node cluster at
// replication factor 3, callers recording a history of conflicting operations, and each kind of
// fault twice (SIGSTOP of a leader, a leader parted from the rest, a minority parted from the rest,
// SIGKILL of a leader and restart, SIGKILL of the coordinator alone or with a leader and a new
// coordinator); then the history must be linearizable and every
// acknowledged write readable. The seed is printed; NEMESIS_SEED=<seed> replays its schedule.
// tests/cluster/nemesis.long.test.ts runs many more faults.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNemesis } from './support/nemesis.js';

const seed = process.env.NEMESIS_SEED !== undefined ? Number(process.env.NEMESIS_SEED) : Math.floor(Math.random() * 1_000_000);

test('a few faults of each kind: the history is linearizable, no acknowledged write is lost', async () => {
  const result = await runNemesis({
    seed,
    nodes: 3,
    shards: 2,
    eachKind: 2,
    holdMs: [1_000, 3_000],
    gapMs: [100, 400],
    callers: 4,
    keys: 4,
    requestTimeoutMs: 2_000,
    thinkMsMax: 30,
    replay: `NEMESIS_SEED=${seed} npm test -- tests/cluster/nemesis.test.ts`,
  });
  assert.ok(result.operations > 100, `only ${result.operations} operations were recorded`);
  assert.ok(result.problems.length === 0, `seed ${seed}:\n${result.problems.join('\n\n')}`);
});

test.run();
