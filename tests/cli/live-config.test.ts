// A running node re-reads its --config file: log level, request limits (and retention and
// cache size) change live, an option that needs a restart is logged as such, a file that
// does not validate changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, OxiaError } from '../../src/adapters/client/index.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';

const S = suite('live configuration');
const dir = mkdtempSync(join(tmpdir(), 'oxia-live-config-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const configFile = join(dir, 'standalone.yaml');

/** Replaces the file as editors and ConfigMap updates do: write aside, rename over. */
function writeConfig(text: string): void {
  writeFileSync(`${configFile}.new`, text);
  renameSync(`${configFile}.new`, configFile);
}

let node: StandaloneProcess | undefined;
let client: OxiaClient | undefined;
S.after(async () => {
  await client?.close();
  await node?.stop();
});

async function putFails(key: string, bytes: number): Promise<string | undefined> {
  return client!.put(key, Buffer.alloc(bytes, 1)).then(
    () => undefined,
    (e: unknown) => (e instanceof OxiaError ? e.kind : String(e)),
  );
}

S('limits and log level change live; a restart-only option is reported; a bad file changes nothing', async () => {
  writeConfig('log-level: info\nvalue-size-bytes-max: 1000\n');
  node = await startStandalone({ extraArgs: ['--config', configFile] });
  client = await OxiaClient.connect(node.address, { requestTimeoutMs: 5_000, logger: { warn: () => {} } });
  assert.is(await putFails('/live/a', 2_000), 'LimitExceeded');
  const debugLines = () => node!.logs().filter((l) => l.includes('"level":"debug"')).length;
  assert.is(debugLines(), 0);

  writeConfig('log-level: debug\nvalue-size-bytes-max: 4000\nwal-segment-size-bytes: 1048576\n');
  await waitFor(() => node!.logs().some((l) => l.includes('configuration reloaded')), 'the reload', 20_000, 100);
  assert.is(await putFails('/live/a', 2_000), undefined, 'the raised limit applies');
  assert.is(await putFails('/live/b', 5_000), 'LimitExceeded');
  // The refusal is logged at debug by a component whose logger was made at start.
  await waitFor(() => node!.logs().some((l) => l.includes('"level":"debug"') && l.includes('request failed')), 'a debug line from a component', 10_000, 50);
  const restart = node.logs().find((l) => l.includes('take effect only after a restart'));
  assert.ok(restart?.includes('wal-segment-size-bytes'), restart);
  assert.not.ok(restart?.includes('value-size-bytes-max'), restart);

  writeConfig('log-level: debug\nvalue-size-bytes-max: -5\n');
  await waitFor(() => node!.logs().some((l) => l.includes('the config file changed but cannot be used')), 'the bad file to be reported', 20_000, 100);
  assert.is(await putFails('/live/c', 3_000), undefined, 'the last good limit stays');
});

S.run();
