// Static checks that guard the design: the dependency rule, the type checker, where the
// container may be used, and that committed protobuf code matches the .proto sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('../..', import.meta.url).pathname;
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('dependencies point inward (dependency-cruiser)', () => {
  const r = run(bin('depcruise'), ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('the project type-checks (tsc --noEmit)', () => {
  const r = run(bin('tsc'), ['--noEmit', '-p', '.']);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('only bootstrap/ creates an inversify Container', () => {
  const offenders = filesUnder(join(root, 'src'))
    .filter((f) => f.endsWith('.ts') && !relative(root, f).startsWith('src/bootstrap/'))
    .filter((f) => /import\s*\{[^}]*\bContainer\b[^}]*\}\s*from\s*['"]inversify['"]/.test(readFileSync(f, 'utf8')));
  assert.equal(offenders.map((f) => relative(root, f)), []);
});

test('committed protobuf code is what `npm run proto` generates', () => {
  if (!existsSync(bin('buf'))) return; // the generator is a dev dependency; without it there is nothing to compare
  const out = mkdtempSync(join(tmpdir(), 'oxia-proto-'));
  try {
    const template = readFileSync(join(root, 'proto/buf.gen.yaml'), 'utf8').replace('out: src/domain/wire', `out: ${out}`);
    const r = run(bin('buf'), ['generate', 'proto', '--template', template]);
    assert.is(r.status, 0, r.stdout + r.stderr);
    const generated = filesUnder(out).map((f) => relative(out, f)).sort();
    const committed = filesUnder(join(root, 'src/domain/wire')).map((f) => relative(join(root, 'src/domain/wire'), f)).sort();
    assert.equal(committed, generated, 'the set of generated files differs');
    for (const f of generated) {
      assert.ok(readFileSync(join(out, f), 'utf8') === readFileSync(join(root, 'src/domain/wire', f), 'utf8'), `${f} is stale: run npm run proto`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
