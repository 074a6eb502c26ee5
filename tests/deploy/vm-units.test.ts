// deploy/vm checked for what would break a real install: the systemd units' command lines
// (expanded from their EnvironmentFile as systemd expands them, with the plain and the secure
// variant of each) use flags and values the real CLI accepts, every file they refer to ships
// in deploy/vm or is installed by the README, the process may write where its flags point,
// systemd waits long enough for a graceful stop, the example cluster config parses and agrees
// with the storage node's ports, and the secure variants turn TLS on everywhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { parseClusterConfigYaml } from '../../src/adapters/cluster-config/cluster-config-yaml.js';
import { parseClusterConfigLocation } from '../../src/adapters/cluster-config/config-location.js';
import { EXIT_USAGE } from '../../src/bootstrap/cli/exit-codes.js';
import { parsePolicyDocument } from '../../src/adapters/access-policy-file/policy-document.js';
import { assertNoProblems, cliSubcommands, flagProblems, flagValues } from './support/cli-help.js';
import {
  expandExecStart,
  parseEnvironmentFile,
  parseSystemdUnit,
  readRepoFile,
  repoRoot,
  unitValue,
  type SystemdUnit,
} from './support/deploy-files.js';
import { gracefulStopBudgetMs, validateFlagValues } from './support/role-settings.js';
import { loadConfigFile } from '../../src/bootstrap/config/config-file.js';

const vmDir = 'deploy/vm';
const vmFiles = readdirSync(join(repoRoot, vmDir));
const unitFiles = vmFiles.filter((f) => f.endsWith('.service')).sort();
const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };

/** Where deploy/vm/README.md installs the checkout and Node. */
const INSTALL_DIR = '/opt/oxia-ts';
const NODE = '/usr/bin/node';
/** Where the README copies the environment files and the cluster config. */
const CONFIG_DIR = '/etc/oxia-ts';

interface Unit {
  readonly file: string;
  /** "plain" for the environment file the unit names, "secure" for its -secure.env variant. */
  readonly variant: 'plain' | 'secure';
  readonly unit: SystemdUnit;
  readonly envFile: string;
  readonly env: Map<string, string>;
  readonly subcommand: string;
  readonly flags: readonly string[];
  readonly values: Map<string, string>;
  /** The settings of the --config file it is given, when any (the file deploy/vm ships for that path). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly referenced: Set<string>;
  readonly undefinedVars: Set<string>;
  readonly splitVars: Set<string>;
  readonly execStart: string;
}

function service(u: Unit, key: string): string | undefined {
  return unitValue(u.unit, 'Service', key);
}

/** The unit with the environment file it names (plain), or that file's -secure.env variant. */
function loadUnit(file: string, variant: 'plain' | 'secure'): Unit {
  const unit = parseSystemdUnit(`${vmDir}/${file}`);
  const envPath = unitValue(unit, 'Service', 'EnvironmentFile') ?? '';
  const named = basename(envPath.replace(/^-/, ''));
  const envFile = variant === 'plain' ? named : named.replace(/\.env$/, '-secure.env');
  const env = existsSync(join(repoRoot, vmDir, envFile)) ? parseEnvironmentFile(`${vmDir}/${envFile}`) : new Map<string, string>();
  const execStart = unitValue(unit, 'Service', 'ExecStart') ?? '';
  const { words, referenced, undefinedVars, splitVars } = expandExecStart(execStart, env);
  const [, , subcommand = '', ...flags] = words;
  const values = flagValues(flags);
  const configPath = values.get('config');
  const config = configPath === undefined ? {} : shippedConfig(configPath);
  return { file, variant, unit, envFile, env, subcommand, flags, values, config, referenced, undefinedVars, splitVars, execStart };
}

/** The file deploy/vm ships for a --config path under /etc/oxia-ts, read as the CLI reads it. */
function shippedConfig(path: string): Record<string, unknown> {
  const shipped = `${vmDir}/${basename(path)}`;
  if (!path.startsWith(`${CONFIG_DIR}/`) || !existsSync(join(repoRoot, shipped))) throw new Error(`--config=${path}: deploy/vm ships no ${basename(path)} to install there`);
  return loadConfigFile(join(repoRoot, shipped));
}

/** A setting as the role sees it: the flag, else the --config file's value (as text). */
function setting(u: Unit, name: string): string | undefined {
  const flag = u.values.get(name);
  if (flag !== undefined) return flag;
  const value = u.config[name];
  return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
}

/** Every setting naming a file: flags and config keys ending in -file, and the OIDC issuers' staticKeyFile. */
function filesNamed(u: Unit): { name: string; path: string }[] {
  const names = new Set([...u.values.keys(), ...Object.keys(u.config)].filter((k) => k.endsWith('-file')));
  const files = [...names].map((name) => ({ name: `--${name}`, path: setting(u, name) ?? '' }));
  const params = JSON.parse(setting(u, 'auth-provider-params') ?? '{}') as { issuers?: Record<string, { staticKeyFile?: string }> };
  for (const [issuer, settings] of Object.entries(params.issuers ?? {})) if (settings.staticKeyFile) files.push({ name: `staticKeyFile of ${issuer}`, path: settings.staticKeyFile });
  const config = u.values.get('config');
  if (config !== undefined) files.push({ name: '--config', path: config });
  return files;
}

const units: Unit[] = unitFiles.map((file) => loadUnit(file, 'plain'));
const secureUnits: Unit[] = unitFiles.map((file) => loadUnit(file, 'secure'));
/** Both variants of every unit: what must hold whichever environment file is installed. */
const allUnits = [...units, ...secureUnits];

/** Variables that turn TLS and authentication on: empty in the plain files, set in the secure ones. */
const SECURITY_VARIABLE = /^OXIA_(\w+_)?TLS_FLAGS$|^OXIA_AUTH/;

interface InstallCommand {
  readonly target: string;
  readonly mode: string;
  readonly owner: string | undefined;
  readonly group: string | undefined;
  readonly directory: boolean;
}

/** The `sudo install ...` lines of a README: what each puts where, with which mode and owner. */
function installCommands(readme: string): InstallCommand[] {
  return readme.split('\n').flatMap((line) => {
    const m = /^\s*sudo install (.*)$/.exec(line);
    if (!m?.[1]) return [];
    const words = m[1].trim().split(/\s+/);
    const option = (name: string): string | undefined => {
      const i = words.indexOf(name);
      return i >= 0 ? words[i + 1] : undefined;
    };
    return [{ target: words.at(-1) ?? '', mode: option('-m') ?? '0755', owner: option('-o'), group: option('-g'), directory: words.includes('-d') }];
  });
}

function unitFor(subcommand: string): Unit {
  const u = units.find((x) => x.subcommand === subcommand);
  if (!u) throw new Error(`no unit runs oxia-ts ${subcommand}`);
  return u;
}

/** systemd time spans: "45s", "1min 30s", "2m", "500ms", a bare number of seconds. */
function systemdSpanMs(text: string): number {
  const units: Record<string, number> = { ms: 1, msec: 1, s: 1000, sec: 1000, second: 1000, seconds: 1000, m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000 };
  if (/^\d+$/.test(text.trim())) return Number(text) * 1000;
  let total = 0;
  for (const part of text.trim().split(/\s+/)) {
    const m = /^(\d+)([a-z]+)$/.exec(part);
    const factor = m?.[2] ? units[m[2]] : undefined;
    if (!m?.[1] || factor === undefined) throw new Error(`not a systemd time span: ${text}`);
    total += Number(m[1]) * factor;
  }
  return total;
}

function portOf(address: string | undefined): number | undefined {
  const m = address === undefined ? null : /:(\d+)$/.exec(address);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

test('units for standalone, server and coordinator, each with an EnvironmentFile that ships beside it', () => {
  assert.equal(units.map((u) => u.subcommand).sort(), ['coordinator', 'server', 'standalone']);
  for (const u of units) {
    const envPath = service(u, 'EnvironmentFile');
    assert.ok(envPath, `${u.file}: EnvironmentFile=`);
    // A leading "-" would make a missing file silently fine: it is not optional here.
    assert.ok(envPath?.startsWith(`${CONFIG_DIR}/`), `${u.file}: EnvironmentFile under ${CONFIG_DIR}`);
    assert.ok(vmFiles.includes(u.envFile), `${u.file}: ${u.envFile} exists in ${vmDir}`);
    assert.is(u.unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target', `${u.file}: enabled with multi-user.target`);
  }
  assert.is(new Set(units.map((u) => u.envFile)).size, units.length, 'one environment file per unit');
});

test('ExecStart runs the package bin with flags `oxia-ts <cmd> --help` lists and values the role accepts, with either environment file', () => {
  const subcommands = cliSubcommands();
  for (const u of allUnits) {
    assert.not.match(u.execStart, /["']/, `${u.file}: no quoting in ExecStart (values come from the environment file)`);
    const words = u.execStart.trim().split(/\s+/);
    assert.is(words[0], NODE, `${u.file}: Node at ${NODE}`);
    assert.is(words[1], posix.join(INSTALL_DIR, pkg.bin['oxia-ts'] ?? '(no bin)'), `${u.file}: the package's oxia-ts bin under ${INSTALL_DIR}`);
    assert.ok(subcommands.includes(u.subcommand), `${u.file}: "${u.subcommand}" is one of ${subcommands.join(', ')}`);
    assert.equal([...u.undefinedVars], [], `${u.file}: every variable ExecStart uses is set in ${u.envFile}`);
    for (const name of u.splitVars) {
      // systemd removes quotes and backslashes from a value it splits into words.
      assert.not.match(u.env.get(name) ?? '', /["'\\]/, `${u.envFile}: ${name} is split into words by ${u.file}: no quotes or backslashes`);
    }
    const where = `${u.file} with ${u.envFile}`;
    assertNoProblems(flagProblems(where, u.subcommand, u.flags));
    assertNoProblems(validateFlagValues(where, u.subcommand, u.flags, shippedConfig));
  }
});

test('every variable of an environment file is used (a typo would otherwise be silently ignored)', () => {
  for (const u of allUnits) {
    for (const name of u.env.keys()) {
      // NODE_OPTIONS is read by Node itself.
      if (name === 'NODE_OPTIONS') continue;
      assert.ok(u.referenced.has(name), `${u.envFile}: ${name} is used by ${u.file}`);
    }
    assert.match(u.env.get('NODE_OPTIONS') ?? '', /--max-old-space-size=\d+/, `${u.envFile}: NODE_OPTIONS bounds the heap`);
  }
});

test('hardening: user oxia, read-only system, writable only where the flags point', () => {
  for (const u of allUnits) {
    const expect = (key: string, value: string): void => assert.is(service(u, key), value, `${u.file}: ${key}=${value}`);
    expect('User', 'oxia');
    expect('Group', 'oxia');
    expect('ProtectSystem', 'strict');
    expect('ProtectHome', 'yes');
    expect('PrivateTmp', 'yes');
    expect('NoNewPrivileges', 'yes');
    expect('CapabilityBoundingSet', '');
    // V8's JIT needs writable and executable memory: this setting would crash Node at start.
    assert.not.ok(['yes', 'true', '1'].includes(service(u, 'MemoryDenyWriteExecute') ?? ''), `${u.file}: MemoryDenyWriteExecute stays off`);

    const writable = (service(u, 'ReadWritePaths') ?? '').split(/\s+/).filter((p) => p !== '').map((p) => p.replace(/^-/, ''));
    const stateDirs = (service(u, 'StateDirectory') ?? '').split(/\s+/).filter((p) => p !== '').map((d) => `/var/lib/${d}`);
    const mounts = (unitValue(u.unit, 'Unit', 'RequiresMountsFor') ?? '').split(/\s+/).filter((p) => p !== '');
    assert.ok(writable.length > 0, `${u.file}: ReadWritePaths=`);
    for (const path of writable) {
      // A ReadWritePaths entry that does not exist stops the unit from starting: StateDirectory
      // creates it, or it is a mount the unit waits for (a shared directory the README has the
      // operator mount or create).
      const created = stateDirs.some((d) => path === d || path.startsWith(`${d}/`));
      const mounted = mounts.includes(path);
      assert.ok(created || mounted, `${u.file}: ReadWritePaths ${path} is created by StateDirectory (${stateDirs.join(', ')}) or required mounted (RequiresMountsFor)`);
      if (mounted) assert.ok(readRepoFile(`${vmDir}/README.md`).includes(path), `${u.file}: README.md says how ${path} comes to exist`);
    }
    const written = [u.values.get('data-dir'), u.values.get('wal-dir'), u.values.get('file-clusters-status-path')?.replace(/\/[^/]+$/, '')].filter(
      (p): p is string => p !== undefined,
    );
    assert.ok(written.length > 0, `${u.file}: writes somewhere`);
    for (const path of written) {
      assert.ok(posix.isAbsolute(path), `${u.file}: ${path} is absolute (the working directory is not the data directory)`);
      assert.ok(writable.some((w) => path === w || path.startsWith(`${w}/`)), `${u.file}: ${path} is under ReadWritePaths (${writable.join(' ')})`);
    }
  }
});

test('restarts: on failure, but not after a usage error; enough file descriptors', () => {
  for (const u of units) {
    assert.is(service(u, 'Restart'), 'on-failure', `${u.file}: Restart=on-failure`);
    const prevent = (service(u, 'RestartPreventExitStatus') ?? '').split(/\s+/);
    assert.ok(prevent.includes(String(EXIT_USAGE)), `${u.file}: exit ${EXIT_USAGE} (bad flags) is not restarted`);
    const nofile = Number(service(u, 'LimitNOFILE'));
    assert.ok(nofile >= 65536, `${u.file}: LimitNOFILE ${service(u, 'LimitNOFILE')} >= 65536`);
  }
});

test('systemd waits for the graceful stop before SIGKILL', () => {
  for (const u of units) {
    assert.is(service(u, 'KillSignal') ?? 'SIGTERM', 'SIGTERM', `${u.file}: SIGTERM starts the graceful stop`);
    const timeout = service(u, 'TimeoutStopSec');
    assert.ok(timeout, `${u.file}: TimeoutStopSec=`);
    const budgetMs = gracefulStopBudgetMs(u.subcommand, u.values);
    assert.ok(systemdSpanMs(timeout ?? '0') >= budgetMs, `${u.file}: TimeoutStopSec=${timeout} covers the ${budgetMs} ms oxia-ts ${u.subcommand} may take to stop`);
  }
});

test('the example cluster config parses and names the storage nodes at the ports server.env binds', () => {
  const coordinator = unitFor('coordinator');
  const server = unitFor('server');
  const conf = coordinator.values.get('conf') ?? '';
  const location = parseClusterConfigLocation(conf);
  assert.is(location.kind, 'file', 'on VMs the cluster config is a file');
  if (location.kind !== 'file') return;
  assert.ok(location.path.startsWith(`${CONFIG_DIR}/`), `--conf=${conf} under ${CONFIG_DIR}`);
  const shipped = `${vmDir}/${basename(location.path)}`;
  assert.ok(existsSync(join(repoRoot, shipped)), `${shipped} ships with the units`);
  const config = parseClusterConfigYaml(readRepoFile(shipped), shipped, { serversRequired: true });
  assert.is(config.servers.length, 3, 'a 3-node cluster');
  for (const ns of config.namespaces) assert.ok(ns.replicationFactor <= config.servers.length, `namespace ${ns.name} fits`);
  for (const s of config.servers) {
    assert.is(portOf(s.public), portOf(server.values.get('public-addr')), `${s.public}: the public port of server.env`);
    assert.is(portOf(s.internal), portOf(server.values.get('internal-addr')), `${s.internal}: the internal port of server.env`);
  }
  assert.is(coordinator.values.get('metadata'), 'file', 'the cluster status in a file');
});

test('two coordinator machines share the status and lease directory; the lease flags are the defaults the ADR argues for', () => {
  const coordinator = unitFor('coordinator');
  const statusDir = posix.dirname(coordinator.values.get('file-clusters-status-path') ?? '');
  const mounts = (unitValue(coordinator.unit, 'Unit', 'RequiresMountsFor') ?? '').split(/\s+/);
  assert.ok(mounts.includes(statusDir), `the unit waits for ${statusDir} (the shared directory) to be mounted`);
  assert.not.ok(statusDir.startsWith('/var/lib/'), 'the status is not in a machine-local state directory');
  assert.is(coordinator.values.get('lease-duration'), '3s');
  assert.is(coordinator.values.get('lease-renew-deadline'), '2s');
  assert.is(coordinator.values.get('lease-retry-period'), '500ms');
});

test("the coordinator serves the admin API on every interface at Oxia's port 6651, with either environment file", () => {
  for (const u of allUnits.filter((x) => x.subcommand === 'coordinator')) {
    const address = u.values.get('public-addr') ?? '';
    assert.is(portOf(address), 6651, `${u.envFile}: --public-addr=${address} on port 6651`);
    assert.ok(address.startsWith('0.0.0.0:'), `${u.envFile}: --public-addr=${address} reachable from the operators' machines`);
  }
});

test('the coordinator can share a machine with a storage node (no port in common)', () => {
  const ports = (u: Unit): number[] => [...u.values.entries()].filter(([k]) => k.endsWith('-addr')).map(([, v]) => portOf(v) ?? -1);
  const serverPorts = ports(unitFor('server'));
  const coordinatorPorts = ports(unitFor('coordinator'));
  assert.ok(serverPorts.length >= 3 && coordinatorPorts.length >= 1, 'addresses are given explicitly');
  for (const p of coordinatorPorts) assert.not.ok(serverPorts.includes(p), `coordinator port ${p} is not a storage node port`);
});

test('each secure variant sets what its plain file sets, to the same values, TLS and authentication aside', () => {
  for (const [plain, secure] of units.map((u, i) => [u, secureUnits[i]!] as const)) {
    assert.ok(vmFiles.includes(secure.envFile), `${secure.envFile} ships beside ${plain.envFile}`);
    assert.equal([...secure.env.keys()], [...plain.env.keys()], `${secure.envFile} sets the variables of ${plain.envFile}, in the same order`);
    for (const [name, value] of plain.env) {
      if (SECURITY_VARIABLE.test(name)) {
        assert.is(value, '', `${plain.envFile}: ${name} is empty (plaintext, no authentication)`);
        continue;
      }
      assert.is(secure.env.get(name), value, `${secure.envFile}: ${name} as in ${plain.envFile}`);
    }
  }
});

test('the secure variants: every port on TLS, mutual TLS on the internal ports and the calls to them, tokens on the public port', () => {
  const on = (u: Unit, name: string): boolean => u.flags.includes(`--${name}=true`) || u.flags.includes(`--${name}`);
  const server = secureUnits.find((u) => u.subcommand === 'server')!;
  const coordinator = secureUnits.find((u) => u.subcommand === 'coordinator')!;
  const standalone = secureUnits.find((u) => u.subcommand === 'standalone')!;
  for (const [u, certFlags] of [
    [server, ['tls-cert-file', 'internal-tls-cert-file', 'metrics-tls-cert-file', 'peer-tls-cert-file']],
    [coordinator, ['tls-cert-file', 'public-tls-cert-file', 'metrics-tls-cert-file', 'peer-tls-cert-file']],
    [standalone, ['tls-cert-file', 'metrics-tls-cert-file']],
  ] as const) {
    for (const flag of certFlags) assert.ok(u.values.has(flag), `${u.envFile}: --${flag}`);
    // Every port it binds: public, internal (when it has one), metrics.
    const ports = [...u.values.keys()].filter((k) => k.endsWith('-addr'));
    assert.ok(ports.length >= 2, `${u.envFile}: binds its ports explicitly`);
  }
  assert.ok(on(server, 'internal-tls-client-auth') && server.values.has('internal-tls-trusted-ca-file'), `${server.envFile}: mutual TLS on the internal port`);
  assert.ok(on(coordinator, 'tls-client-auth') && coordinator.values.has('tls-trusted-ca-file'), `${coordinator.envFile}: mutual TLS on its listener`);
  assert.ok(
    on(coordinator, 'public-tls-client-auth') && coordinator.values.has('public-tls-trusted-ca-file'),
    `${coordinator.envFile}: mutual TLS on its admin listener (the admin API changes the cluster)`,
  );
  for (const u of [server, coordinator]) {
    assert.ok(u.values.has('peer-tls-trusted-ca-file') && u.values.has('peer-tls-key-file'), `${u.envFile}: its calls present a certificate and check the nodes' against the CA`);
    assert.not.ok(on(u, 'peer-tls-insecure-skip-verify'), `${u.envFile}: the nodes' certificates are verified`);
  }
  for (const u of [server, standalone]) {
    assert.is(setting(u, 'auth-provider-name'), 'oidc', `${u.envFile}: auth-provider-name oidc`);
    const params = JSON.parse(setting(u, 'auth-provider-params') ?? 'null') as { issuers?: Record<string, unknown> } | null;
    assert.ok(Object.keys(params?.issuers ?? {}).length > 0, `${u.envFile}: auth-provider-params names an issuer`);
    assert.ok(setting(u, 'authorization-policy-file'), `${u.envFile}: authorization-policy-file`);
  }
});

test('the files the secure variants name are installed by the README under /etc/oxia-ts, keys 0600 for the service user', () => {
  const readme = readRepoFile(`${vmDir}/README.md`);
  const installs = installCommands(readme);
  for (const u of secureUnits) {
    for (const { name: flag, path } of filesNamed(u)) {
      assert.ok(path.startsWith(`${CONFIG_DIR}/`), `${u.envFile}: ${flag} ${path} is under ${CONFIG_DIR}`);
      const install = installs.find((i) => i.target === path);
      assert.ok(install, `${vmDir}/README.md installs ${path} (${flag} of ${u.envFile})`);
      if (!install) continue;
      if (/\.key$/.test(path)) {
        assert.is(install.mode, '0600', `${path}: a private key, mode 0600`);
        assert.is(install.owner, 'oxia', `${path}: owned by the service user`);
      } else {
        assert.ok(install.owner === 'oxia' || install.group === 'oxia' || /[4-7]$/.test(install.mode), `${path}: readable by the service user`);
      }
    }
  }
  const policy = secureUnits.map((u) => setting(u, 'authorization-policy-file')).find((p) => p !== undefined) ?? '';
  const example = `${vmDir}/${basename(policy)}`;
  assert.ok(existsSync(join(repoRoot, example)), `${example}: an example of the policy the secure variants name`);
  assert.ok(parsePolicyDocument(readRepoFile(example)).grants.length > 0, `${example} parses as the server parses it, and grants something`);
  const dirs = installs.filter((i) => i.directory);
  assert.ok(dirs.some((d) => d.target === `${CONFIG_DIR}/tls` && d.mode === '0750' && d.group === 'oxia'), `${CONFIG_DIR}/tls: 0750, group oxia`);
});

test('deploy/vm/README.md names every file it ships, and the units point at it', () => {
  const readme = readRepoFile(`${vmDir}/README.md`);
  for (const f of vmFiles.filter((x) => x !== 'README.md')) assert.ok(readme.includes(f), `README.md mentions ${f}`);
  for (const u of units) {
    const doc = unitValue(u.unit, 'Unit', 'Documentation') ?? '';
    assert.is(doc, `file:${INSTALL_DIR}/${vmDir}/README.md`, `${u.file}: Documentation= the README in the checkout`);
  }
});

test('systemd-analyze verify accepts the units (when systemd is installed)', () => {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    console.log('  (systemd-analyze not installed: units not verified by systemd)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'oxia-units-'));
  try {
    // verify checks that the binary exists: point the copies at this Node.
    const copies = unitFiles.map((f) => {
      const p = join(dir, f);
      writeFileSync(p, readRepoFile(`${vmDir}/${f}`).replaceAll(NODE, process.execPath));
      return p;
    });
    const r = spawnSync('systemd-analyze', ['verify', ...copies], { encoding: 'utf8', timeout: 60_000 });
    // systemd reports unknown keys and unparsable values as warnings with exit 0: any output is a finding.
    assert.is(`${r.stdout}${r.stderr}`.trim(), '', 'no warnings');
    assert.is(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
