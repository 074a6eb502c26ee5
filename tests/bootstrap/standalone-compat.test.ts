// Data directories written by the standalone server before it became a storage node with a
// local coordinator (ADR 0033) open unchanged: every key is there with its value, in the
// namespace's natural order, and the server takes writes and keeps them across a restart.
// The fixtures were written by that code (commit d14092b): `--shards 2 --key-sorting natural`,
// puts of /k/0 .. /k/19 with values v0 .. v19, then a delete of /k/3, then a graceful stop.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyNotFoundError, OxiaClient } from '../../src/adapters/client/index.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/standalone-before-0033/', import.meta.url));
const KEPT = Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 3);

async function expectOldData(client: OxiaClient): Promise<void> {
  for (const i of KEPT) {
    const got = await client.get(`/k/${i}`);
    assert.is(Buffer.from(got.value ?? []).toString(), `v${i}`, `/k/${i} has its value`);
  }
  const deleted = await client.get('/k/3').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(deleted, KeyNotFoundError, 'the deleted key stays deleted');
  // Natural sorting was stored with the data: /k/10 sorts before /k/2 as plain bytes do.
  const listed = await client.list('/k/0', '/k/:');
  assert.equal(listed, KEPT.map((i) => `/k/${i}`).sort());
}

const S = suite('standalone: data written before ADR 0033');

for (const kv of ['sqlite', 'level'] as const) {
  S(`--kv ${kv}: opens, serves, takes writes and restarts`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oxia-standalone-compat-'));
    cpSync(join(FIXTURES, kv), dataDir, { recursive: true });
    let server: StandaloneProcess | undefined;
    let client: OxiaClient | undefined;
    try {
      server = await startStandalone({ kv, shards: 2, dataDir, extraArgs: ['--key-sorting', 'natural'] });
      client = await OxiaClient.connect(server.address, { logger: { warn: () => {} } });
      await expectOldData(client);
      await client.put('/k/new', 'after');
      await client.close();
      client = undefined;

      await server.restart();
      client = await OxiaClient.connect(server.address, { logger: { warn: () => {} } });
      await expectOldData(client);
      assert.is(Buffer.from((await client.get('/k/new')).value ?? []).toString(), 'after');
    } finally {
      await client?.close();
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

S.run();
