// The long simulator runs (`npm run test:long`): thousands of seeds, and every deliberate
// defect of --list-defects caught within 300 seeds (the checker is trusted only because it
// is seen to fail).
import { setMaxListeners } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFECTS } from './defects.js';
import { simulate } from './simulation.js';

setMaxListeners(0);
const S = suite('sim (long): many seeds, every defect caught');
const SEEDS = Number(process.env.SIM_LONG_SEEDS ?? 2_000);

S(`${SEEDS} seeds on 3 and 5 nodes`, async () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const nodes = seed % 4 === 0 ? 5 : 3;
    const r = await simulate({ seed: 100_000 + seed, nodes, operations: 200 });
    assert.ok(r.ok, `seed ${r.seed} (--nodes ${nodes}): ${r.failures.join('\n')}`);
  }
});

for (const defect of DEFECTS) {
  S(`defect ${defect.name} is caught within 300 seeds`, async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = await simulate({ seed, nodes: 3, operations: 200, defect: defect.name });
      if (!r.ok) return;
    }
    assert.unreachable(`${defect.name} survived 300 seeds`);
  });
}

S.run();
