// The commands that call a server (`client`, `perf`, `health`) as real processes against a real
// `oxia-ts standalone`: the same TLS flags on each (trusted CA, client certificate for mutual
// TLS, server name), the same token flags on each and the same mistakes refused the same way,
// tokens sent and checked by a server that requires them (OIDC, static key made at test time)
// while the health service answers without one, and no private key or token in what perf prints.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_USAGE } from '../../src/bootstrap/cli/exit-codes.js';
import { makeCa } from '../support/certs.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { makeIssuer } from '../support/tokens.js';
import { runCli } from '../cli/support.js';

const S = suite('tls: client, perf and health flags');

const dir = mkdtempSync(join(tmpdir(), 'oxia-cli-sec-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
// The server's certificate also names oxia.test, the name --tls-server-name asks for below.
const server = ca.issue('server', ['oxia.test']);
const client = ca.issue('client');
const tokenFile = join(dir, 'token');
const TOKEN = 'a-token-that-must-never-be-printed';
writeFileSync(tokenFile, `${TOKEN}\n`);

/** The three commands, each with a quick run's arguments (before the flags under test); a refused connection fails within 5 s. */
const COMMANDS = {
  client: (address: string) => ['client', '-a', address, '--request-timeout', '5s'],
  perf: (address: string) => ['perf', '-a', address, '--rate', '50', '--duration', '1s', '--request-timeout', '5s', '--json'],
  health: (address: string) => ['health', '-a', address, '--timeout', '5s'],
} as const;
/** What follows the flags: client needs a subcommand. */
const TAIL: Record<keyof typeof COMMANDS, readonly string[]> = { client: ['put', '/cli-sec/k', 'v'], perf: [], health: [] };

async function run(command: keyof typeof COMMANDS, address: string, flags: readonly string[]) {
  return runCli([...COMMANDS[command](address), ...flags, ...TAIL[command]]);
}

let node: StandaloneProcess | undefined;
let authenticating: StandaloneProcess | undefined;
S.after(async () => {
  await node?.stop();
  await authenticating?.stop();
});

S('mutual TLS: each command works with the CA and a client certificate, and is refused without the certificate', async () => {
  node = await startStandalone({
    extraArgs: ['--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--tls-trusted-ca-file', ca.certFile, '--tls-client-auth'],
  });
  const identity = ['--tls-trusted-ca-file', ca.certFile, '--tls-cert-file', client.certFile, '--tls-key-file', client.keyFile, '--tls-server-name', 'oxia.test'];
  for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
    const ok = await run(command, node.address, identity);
    assert.is(ok.code, 0, `${command} with a client certificate: ${ok.stderr}`);
    const without = await run(command, node.address, ['--tls-trusted-ca-file', ca.certFile, '--tls-server-name', 'oxia.test']);
    assert.is.not(without.code, 0, `${command} without a client certificate must be refused`);
  }
});

S('--tls-server-name: the name the certificate must carry (a name it lacks is refused)', async () => {
  for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
    const wrong = await run(command, node!.address, ['--tls-trusted-ca-file', ca.certFile, '--tls-cert-file', client.certFile, '--tls-key-file', client.keyFile, '--tls-server-name', 'elsewhere.test']);
    assert.is.not(wrong.code, 0, `${command} accepted a certificate without the name asked for`);
  }
});

S('perf prints whether TLS and a token were used, never the key or the token', async () => {
  const r = await run('perf', node!.address, ['--tls-trusted-ca-file', ca.certFile, '--tls-cert-file', client.certFile, '--tls-key-file', client.keyFile, '--tls-server-name', 'oxia.test', '--auth-token-file', tokenFile]);
  assert.is(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; config: { tls?: unknown; authentication?: unknown } };
  assert.is(summary.type, 'summary');
  assert.equal(summary.config.tls, { trustedCa: true, clientCertificate: true, serverName: 'oxia.test', insecureSkipVerify: false });
  assert.is(summary.config.authentication, 'token');
  assert.not.ok(r.stdout.includes(TOKEN) || r.stderr.includes(TOKEN), 'the token is not printed');
  assert.not.match(r.stdout, /"type":"Buffer"|PRIVATE KEY/, 'no key material is printed');
});

S('token flags: the same mistakes are usage errors (exit 2) on each command, before anything is sent', async () => {
  const empty = join(dir, 'empty-token');
  writeFileSync(empty, '\n');
  const cases: Array<[readonly string[], RegExp]> = [
    [['--auth-token', 'x', '--auth-token-file', tokenFile], /cannot both be given/],
    [['--auth-token-file', join(dir, 'missing-token')], /--auth-token-file: cannot read .*missing-token/],
    [['--auth-token-file', empty], /--auth-token-file: .*empty-token is empty/],
  ];
  for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
    for (const [flags, message] of cases) {
      const r = await run(command, node!.address, flags);
      assert.is(r.code, EXIT_USAGE, `${command} ${flags.join(' ')}: exit ${r.code}, ${r.stderr}`);
      assert.match(r.stderr, message, `${command} ${flags.join(' ')}`);
    }
  }
});

S('a server that requires tokens: each command gets in with --auth-token or --auth-token-file; without one, client and perf are refused and health still answers', async () => {
  const issuer = await makeIssuer('https://issuer.cli.test', 'ES256');
  const keyFile = issuer.writePublicPem(join(dir, 'issuer.pem'));
  const params = { issuers: { [issuer.issuer]: { allowedAudiences: 'oxia', staticKeyFile: keyFile } } };
  authenticating = await startStandalone({
    extraArgs: ['--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--auth-provider-name', 'oidc', '--auth-provider-params', JSON.stringify(params)],
  });
  const token = await issuer.sign({ sub: 'cli-user' });
  const signedTokenFile = join(dir, 'signed-token');
  writeFileSync(signedTokenFile, `${token}\n`);
  const tls = ['--tls-trusted-ca-file', ca.certFile, '--tls-server-name', 'oxia.test'];
  for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
    for (const credentials of [['--auth-token', token], ['--auth-token-file', signedTokenFile]]) {
      const r = await run(command, authenticating.address, [...tls, ...credentials]);
      assert.is(r.code, 0, `${command} ${credentials[0]}: ${r.stderr}`);
    }
    const forged = await run(command, authenticating.address, [...tls, '--auth-token', await (await makeIssuer(issuer.issuer, 'ES256')).sign({ sub: 'cli-user' })]);
    const without = await run(command, authenticating.address, tls);
    if (command === 'health') {
      // Probes and load balancers carry no token: the health service stays open.
      assert.is(without.code, 0, `health without a token: ${without.stderr}`);
      assert.match(without.stdout, /SERVING/);
      continue;
    }
    assert.is.not(without.code, 0, `${command} without a token must be refused`);
    assert.match(`${without.stdout}${without.stderr}`, /missing token|[Uu]nauthenticated/, `${command} without a token: ${without.stderr}`);
    assert.is.not(forged.code, 0, `${command} with a token signed by another key must be refused`);
  }
});

S.run();
