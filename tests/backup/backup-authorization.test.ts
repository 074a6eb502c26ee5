// Who may back up and restore (ADR 0030) on a standalone server with OIDC tokens and a policy
// file: a backup needs `read` on the whole namespace (a grant without key prefix, or `admin`);
// a read limited to a prefix, a write-only grant and a missing token are refused and leave no
// backup behind. A restore needs `read` (the emptiness check) and `write`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, TokenAuthentication } from '../../src/adapters/client/index.js';
import { runCli } from '../cli/support.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { makeIssuer } from '../support/tokens.js';

const S = suite('backup and restore: authorization');
const dir = mkdtempSync(join(tmpdir(), 'oxia-backup-authz-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const issuer = await makeIssuer('https://issuer.oxia.test', 'ES256');
const keyFile = issuer.writePublicPem(join(dir, 'issuer.pem'));
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  `
grants:
  - principals: ["user:root"]
    namespaces: ["*"]
    rights: [admin]
  - principals: ["user:auditor"]
    namespaces: [default]
    rights: [read]
  - principals: ["user:tenant"]
    namespaces: [default]
    rights: [read, write]
    keyPrefix: /a/
  - principals: ["user:producer"]
    namespaces: [default]
    rights: [write]
`,
);
const token = (sub: string) => issuer.sign({ sub, claims: {} });

let node: StandaloneProcess | undefined;
let client: OxiaClient | undefined;
S.after(async () => {
  await client?.close();
  await node?.stop();
});

S('read on the whole namespace or admin may back up; a prefix, write only or no token may not', async () => {
  node = await startStandalone({
    shards: 2,
    extraArgs: [
      '--auth-provider-name', 'oidc',
      '--auth-provider-params', JSON.stringify({ issuers: { [issuer.issuer]: { allowedAudiences: 'oxia', staticKeyFile: keyFile } } }),
      '--authorization-policy-file', policyFile,
    ],
  });
  client = await OxiaClient.connect(node.address, { authentication: new TokenAuthentication(() => token('root')), requestTimeoutMs: 10_000, logger: { warn: () => {} } });
  for (let i = 0; i < 20; i++) await client.put(`/a/${i}`, `v${i}`);
  for (let i = 0; i < 20; i++) await client.put(`/b/${i}`, `v${i}`);

  const backupAs = async (who: string | undefined) => {
    const out = join(dir, `by-${who ?? 'nobody'}`);
    const result = await runCli(['backup', '-a', node!.address, '--out', out, ...(who === undefined ? [] : ['--auth-token', await token(who)])]);
    return { ...result, out };
  };

  for (const who of ['auditor', 'root']) {
    const r = await backupAs(who);
    assert.is(r.code, 0, `${who}: ${r.stderr}`);
    assert.match(r.stdout, /backed up 40 records/, who);
  }
  const refusals: Array<[string | undefined, RegExp]> = [
    ['tenant', /may not back up namespace "default": its right "read" is limited to "\/a\/"/],
    ['producer', /lacks the right "read" on namespace "default"/],
    [undefined, /token|credential|authenticat/i],
  ];
  for (const [who, message] of refusals) {
    const r = await backupAs(who);
    assert.is(r.code, 1, `${who ?? 'no token'}: refused`);
    assert.match(r.stderr, message, `${who ?? 'no token'}: ${r.stderr}`);
    assert.not.ok(existsSync(join(r.out, 'manifest.json')), 'no manifest: not a backup');
  }

  // A restore into the (non-empty) namespace: checked for emptiness, which needs read.
  const producer = await runCli(['restore', '-a', node.address, '--in', join(dir, 'by-root'), '--auth-token', await token('producer')]);
  assert.is(producer.code, 1);
  assert.match(producer.stderr, /lacks the right "read"/);
  const root = await runCli(['restore', '-a', node.address, '--in', join(dir, 'by-root'), '--auth-token', await token('root')]);
  assert.is(root.code, 1);
  assert.match(root.stderr, /refused, nothing written: the namespace holds 40 records/);
});

S.run();
