// A shard split (ADR 0025) survives kill -9 under continuous writes and reads on a 3-node
// cluster (RF 3): the short set of the crash matrix (the whole matrix, with a larger shard, is
// shard-split-crash.long.test.ts). The split resumes and commits, no acknowledged write is lost,
// every key is in exactly one child.
import { suite } from 'uvu';
import { crashDuringSplit } from './support/split-crash.js';

const S = suite('cluster: shard split under kill -9');
const PRELOAD = Number(process.env.SPLIT_CRASH_KEYS ?? 5_000);

S('the coordinator in Bootstrap (the freeze unanswered): a new coordinator resumes the split', async () => {
  await crashDuringSplit('coordinator', 'Bootstrap', PRELOAD);
});

S("the parent's leader while the children are copied (CatchUp): the parent is re-elected, frozen and copied again", async () => {
  await crashDuringSplit('parent leader', 'CatchUp', PRELOAD);
});

S("the parent's leader in Cutover (committed, the parent not yet deleted): the children are elected, the parent deleted", async () => {
  await crashDuringSplit('parent leader', 'Cutover', PRELOAD);
});

S.run();
