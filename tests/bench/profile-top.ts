/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. written by cpu-per-op.ts): the
 * share of busy samples per function (self time), and per function including its callees, so
 * that CPU per operation can be traced to code. Idle samples are left out of the shares.
 *
 *   node --import tsx tests/bench/profile-top.ts <file.cpuprofile> [--top 40] [--total]
 *     [--stacks <function name>]   the call stacks under which that function had its samples
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, total: { type: 'boolean', default: false }, stacks: { type: 'string' } },
});
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/(node_modules\/|dist\/src\/|src\/)/, '$1');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
};

const stackCount = new Map<string, number>();
const selfCount = new Map<string, number>();
const totalCount = new Map<string, number>();
let busy = 0;
for (const id of profile.samples) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === '(idle)') continue;
  busy++;
  const self = label(node);
  selfCount.set(self, (selfCount.get(self) ?? 0) + 1);
  if (flags.stacks !== undefined && node.callFrame.functionName === flags.stacks) {
    const frames: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && frames.length < 8; cur = parent.get(cur)) frames.push(label(byId.get(cur)!));
    const stack = frames.join(' < ');
    stackCount.set(stack, (stackCount.get(stack) ?? 0) + 1);
  }
  if (flags.total) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      totalCount.set(l, (totalCount.get(l) ?? 0) + 1);
    }
  }
}
const top = Number(flags.top);
const print = (title: string, counts: Map<string, number>) => {
  process.stdout.write(`${title} (${busy} busy samples of ${profile.samples.length})\n`);
  for (const [l, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((c / busy) * 100).toFixed(1).padStart(5)}%  ${l}\n`);
  }
};
print('self', selfCount);
if (flags.total) print('\nincluding callees', totalCount);
if (flags.stacks !== undefined) print(`\ncallers of ${flags.stacks}`, stackCount);
