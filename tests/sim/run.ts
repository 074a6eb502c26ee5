/**
 * `npm run sim -- --seeds N [--seed S] [--nodes 3|5] [--ops N] [--inject DEFECT] [--list-defects] [--verbose]`
 *
 * Runs the replicated core in one process per seed on simulated time (tests/sim/simulation.ts)
 * and checks each run. Prints one line per failing seed with the command that replays it,
 * then `N passed, M failed`; exits 1 when a seed failed.
 */
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { DEFECTS } from './defects.js';
import { simulate } from './simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    ops: { type: 'string', default: '200' },
    inject: { type: 'string' },
    'list-defects': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    first: { type: 'string', default: '1' },
  },
});

if (values['list-defects']) {
  for (const d of DEFECTS) console.log(`${d.name.padEnd(24)} ${d.description}`);
  process.exit(0);
}

const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) {
  console.error('--nodes must be 3 or 5');
  process.exit(2);
}
setMaxListeners(0);
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);
let passed = 0;
let failed = 0;
const started = Date.now();
for (const seed of seeds) {
  const result = await simulate({ seed, nodes, operations: Number(values.ops), defect: values.inject, verbose: values.verbose });
  if (result.ok) {
    passed++;
    if (values.seed !== undefined) console.log(`seed ${seed}: ok, ${result.operations} operations (${result.unknown} unknown), ${Math.round(result.simulatedMs)} ms simulated, fingerprint ${result.fingerprint}`);
    continue;
  }
  failed++;
  const replay = `npm run sim -- --seed ${seed} --nodes ${nodes} --ops ${values.ops}${values.inject ? ` --inject ${values.inject}` : ''}`;
  console.log(`seed ${seed} FAILED: ${result.failures[0]?.split('\n')[0]}  (replay: ${replay})`);
  if (values.seed !== undefined) {
    for (const f of result.failures) console.log(`  ${f}`);
    console.log('  log:');
    for (const line of result.logTail) console.log(`    ${line}`);
  }
}
console.error(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
