// The `oxia-ts` bin must work from any working directory, as an installed command does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { OXIA_TS_BIN } from '../support/standalone.js';

test('oxia-ts --help works when started outside the project folder', () => {
  const r = spawnSync(process.execPath, [OXIA_TS_BIN, '--help'], { cwd: tmpdir(), encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /standalone/);
});

test.run();
