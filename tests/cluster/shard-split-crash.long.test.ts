// The crash matrix of a shard split (ADR 0025): kill -9 of the coordinator and of the parent's
// leader in each phase (Bootstrap, CatchUp, Cutover), under continuous writes and reads on a
// 3-node cluster (RF 3) with a preloaded shard. Each time the split resumes and commits, no
// acknowledged write is lost, every key is in exactly one child.
import { suite } from 'uvu';
import { crashDuringSplit, type SplitPhaseName, type SplitVictim } from './support/split-crash.js';

const S = suite('cluster: shard split crash matrix (long)');
const PRELOAD = Number(process.env.SPLIT_CRASH_KEYS ?? 20_000);

for (const victim of ['coordinator', 'parent leader'] as SplitVictim[]) {
  for (const phase of ['Bootstrap', 'CatchUp', 'Cutover'] as SplitPhaseName[]) {
    S(`kill -9 of the ${victim} in ${phase}`, async () => {
      await crashDuringSplit(victim, phase, PRELOAD);
    });
  }
}

S.run();
