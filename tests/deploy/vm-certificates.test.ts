// deploy/vm/README.md's certificate commands, run as written with the real openssl binary, and
// a real `oxia-ts server` started with the TLS flags of server-secure.env, the paths mapped
// through the README's install commands onto what the commands made: the public port answers
// a client that trusts the CA and dials the machine's name, the internal port only one that
// presents the machine's certificate too (as the other nodes and the coordinator do).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/support.js';
import { startStorageNode, type StorageNodeProcess } from '../support/storage-node.js';
import { parseEnvironmentFile, readRepoFile } from './support/deploy-files.js';

const S = suite('deploy/vm: the README makes certificates that server-secure.env runs with');

const README = 'deploy/vm/README.md';
const dir = mkdtempSync(join(tmpdir(), 'oxia-vm-certs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** The indented block right after the README's "### Certificates" heading's first paragraph: the commands. */
function certificateCommands(readme: string): string[] {
  const lines = readme.split('\n');
  const heading = lines.findIndex((l) => l.trim() === '### Certificates');
  assert.ok(heading >= 0, `${README} has a "### Certificates" section`);
  const start = lines.findIndex((l, i) => i > heading && l.startsWith('    '));
  const block: string[] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('    ')) break;
    block.push(line.slice(4));
  }
  return block;
}

/** `sudo install ... SOURCE TARGET` lines: target -> source. */
function installedFrom(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/^\s*sudo install (?!-d)(?:-[mog] \S+ )*(\S+) (\/\S+)$/gm)) if (m[1] && m[2]) out.set(m[2], m[1]);
  return out;
}

let node: StorageNodeProcess | undefined;
S.after(async () => {
  await node?.stop();
});

S('the commands make a CA and a machine certificate; the server runs with the secure TLS flags; both ports answer as they should', async () => {
  const readme = readRepoFile(README);
  const commands = certificateCommands(readme);
  assert.ok(commands.some((c) => c.startsWith('openssl ')), 'the block holds openssl commands');
  const script = join(dir, 'make-certificates.sh');
  writeFileSync(script, `set -eu\n${commands.join('\n')}\n`);
  execFileSync('bash', [script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const name = /^NAME=(\S+)$/m.exec(commands.join('\n'))?.[1];
  assert.ok(name, 'the commands name the machine in NAME=');

  // The env file's paths, mapped to the files the commands made through the README's install lines.
  const installs = installedFrom(readme);
  const env = parseEnvironmentFile('deploy/vm/server-secure.env');
  const localFile = (target: string): string => {
    const source = installs.get(target);
    if (!source) throw new Error(`${README} installs nothing at ${target}`);
    const local = join(dir, source);
    if (!existsSync(local)) throw new Error(`${README} installs ${source} at ${target}, but the commands made no ${source}`);
    return local;
  };
  const tlsFlags = ['OXIA_TLS_FLAGS', 'OXIA_INTERNAL_TLS_FLAGS', 'OXIA_PEER_TLS_FLAGS', 'OXIA_METRICS_TLS_FLAGS'].flatMap((v) =>
    (env.get(v) ?? '')
      .split(/\s+/)
      .filter((w) => w !== '')
      .map((w) => w.replace(/^(--[a-z-]+-file)=(.+)$/, (_m, flag: string, path: string) => `${flag}=${localFile(path)}`)),
  );
  assert.ok(tlsFlags.length >= 10, `server-secure.env turns TLS on (${tlsFlags.join(' ')})`);
  node = await startStorageNode({ extraArgs: tlsFlags });

  const ca = localFile('/etc/oxia-ts/tls/ca.crt');
  const machine = ['--tls-cert-file', localFile('/etc/oxia-ts/tls/server.crt'), '--tls-key-file', localFile('/etc/oxia-ts/tls/server.key')];
  const health = (address: string, extra: readonly string[]) => runCli(['health', '--address', address, '--timeout', '5s', '--tls-trusted-ca-file', ca, '--tls-server-name', name ?? '', ...extra]);

  const publicPort = await health(node.publicAddress, []);
  assert.is(publicPort.code, 0, `public port with the CA: ${publicPort.stderr}`);
  const internal = await health(node.internalAddress, machine);
  assert.is(internal.code, 0, `internal port with the machine's certificate: ${internal.stderr}`);
  const withoutCertificate = await health(node.internalAddress, []);
  assert.is.not(withoutCertificate.code, 0, 'the internal port refuses a caller without a certificate');
  const wrongName = await runCli(['health', '--address', node.publicAddress, '--timeout', '5s', '--tls-trusted-ca-file', ca, '--tls-server-name', 'not-the-machine.example']);
  assert.is.not(wrongName.code, 0, 'the certificate is for the machine name only');
});

S.run();
