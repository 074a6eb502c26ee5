/**
 * `oxia-ts admin`: Oxia's admin CLI (`oxia admin ...`) against a coordinator's admin API
 * (--public-addr): `namespace create|patch|delete|get|list`, `dataserver
 * create|patch|delete|get|list`, `shard split`, with Oxia's flags (`--admin-address`,
 * `--auth-token`, `--auth-token-file`, `-o json|yaml|table`, `--initial-shards`,
 * `--replication-factor`, `--notifications`, `--key-sorting`, `--public`, `--internal`,
 * `--label`, `--namespace`, `--shard`, `--split-point`; oxia-ts adds `--standby-retry`). `get` without a name lists, as in
 * Oxia; `list` is the same. Exit status: 0 ok, 1 when the coordinator refused or failed, 2
 * for usage errors.
 */
import { readFileSync } from 'node:fs';
import { status as GrpcCode, type ServiceError } from '@grpc/grpc-js';
import { Command, Option } from 'commander';
import { GrpcAdminClient } from '../../adapters/admin-client/grpc-admin-client.js';
import { channelSecurityFromPem, PLAINTEXT } from '../../adapters/tls/grpc-channel-credentials.js';
import { TlsFileError } from '../../adapters/tls/tls-files.js';
import { backoffDelayMs, DEFAULT_RETRY_BACKOFF } from '../../domain/coordinator/backoff.js';
import { isValidNamespaceName } from '../../domain/sharding/namespace.js';
import type { DataServerView, NamespaceView } from '../../domain/wire/admin.js';
import type { DataServer, Namespace } from '../../domain/wire/metadata.js';
import { ConfigError } from '../config/option-table.js';
import { parseDurationMs } from '../config/values.js';
import {
  dataServerPlain,
  dataServerViewPlain,
  formatStructured,
  formatTable,
  labelsText,
  namespacePlain,
  namespaceViewPlain,
  OUTPUT_FORMATS,
  stateName,
  type OutputFormat,
} from './admin-output.js';
import { addClientTlsFlags, clientTlsOf, type ClientTlsFlags } from './client-tls-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

/** Oxia's default admin port. */
const DEFAULT_ADMIN_ADDRESS = 'localhost:6651';

class UsageError extends Error {}

interface AdminOptions extends ClientTlsFlags {
  adminAddress: string;
  authToken?: string;
  authTokenFile?: string;
  output?: string;
  requestTimeout: string;
  standbyRetry: string;
}

type Run = (client: GrpcAdminClient, format: OutputFormat) => Promise<string>;

export function adminCommand(outcome: CommandOutcome): Command {
  const admin = new Command('admin')
    .description('manage the cluster through the coordinator: namespaces, data servers, shards')
    .addOption(new Option('--admin-address <host:port>', 'admin address of the coordinator (its --public-addr)').default(DEFAULT_ADMIN_ADDRESS))
    .addOption(new Option('--auth-token <token>', 'bearer token for authenticated requests'))
    .addOption(new Option('--auth-token-file <file>', 'path to a bearer token file for authenticated requests'))
    .addOption(new Option('-o, --output <format>', `output format: ${OUTPUT_FORMATS.join(' | ')} (default table)`))
    .addOption(new Option('--request-timeout <duration>', 'requests timeout').default('30s'))
    .addOption(
      new Option('--standby-retry <duration>', 'how long to retry a call refused by a coordinator standing by (behind a Service, the active one answers next); 0s: never').default('10s'),
    );
  addClientTlsFlags(admin);

  const group = (name: string, description: string): Command => {
    const c = new Command(name).description(description).exitOverride();
    admin.addCommand(c);
    return c;
  };
  const sub = (parent: Command, name: string, description: string): Command => {
    const c = new Command(name).description(description).exitOverride().showHelpAfterError(`(oxia-ts admin ${parent.name()} ${name} --help lists the options)`);
    parent.addCommand(c);
    return c;
  };
  const go = (cmd: Command, prepare: () => Run) => execute(outcome, cmd, prepare);

  // ---- namespaces
  const namespace = group('namespace', 'create, patch, delete, get and list namespaces');
  sub(namespace, 'create', 'create a namespace')
    .argument('<namespace>')
    .requiredOption('--initial-shards <count>', 'initial shard count for the namespace')
    .requiredOption('--replication-factor <factor>', 'replication factor for the namespace')
    .addOption(notificationsOption())
    .addOption(new Option('--key-sorting <sorting>', 'key sorting: hierarchical | natural').default('hierarchical'))
    .action((name: string, o: { initialShards: string; replicationFactor: string; notifications?: boolean; keySorting: string }, cmd: Command) =>
      go(cmd, () => {
        requireNamespaceName(name);
        const initialShardCount = positive('--initial-shards', o.initialShards, 'namespace initial shard count must be greater than 0');
        const replicationFactor = positive('--replication-factor', o.replicationFactor, 'namespace replication factor must be greater than 0');
        if (o.keySorting !== 'hierarchical' && o.keySorting !== 'natural') throw new UsageError('key sorting must be one of "natural" or "hierarchical"');
        const ns: Namespace = { name, initialShardCount, replicationFactor, notificationsEnabled: o.notifications ?? true, keySorting: o.keySorting, antiAffinities: [] };
        return async (c, f) => writeNamespace((await c.call('createNamespace', { namespace: ns })).namespace, f);
      }),
    );
  sub(namespace, 'patch', 'patch a namespace: its replication factor (replicas are added or removed one at a time) and notifications')
    .argument('<namespace>')
    .option('--replication-factor <factor>', 'replication factor for the namespace')
    .addOption(notificationsOption())
    .action((name: string, o: { replicationFactor?: string; notifications?: boolean }, cmd: Command) =>
      go(cmd, () => {
        requireNamespaceName(name);
        if (o.replicationFactor === undefined && o.notifications === undefined) throw new UsageError('must specify at least one field to patch');
        const replicationFactor = o.replicationFactor === undefined ? 0 : positive('--replication-factor', o.replicationFactor, 'namespace replication factor must be greater than 0');
        const ns: Namespace = { name, initialShardCount: 0, replicationFactor, notificationsEnabled: o.notifications, keySorting: '', antiAffinities: [] };
        return async (c, f) => writeNamespace((await c.call('patchNamespace', { namespace: ns })).namespace, f);
      }),
    );
  sub(namespace, 'delete', 'delete a namespace (its shards are deleted from every server)')
    .argument('<namespace>')
    .action((name: string, _o: unknown, cmd: Command) =>
      go(cmd, () => {
        requireNamespaceName(name.trim());
        return async (c, f) => writeNamespace((await c.call('deleteNamespace', { namespace: name.trim() })).namespace, f);
      }),
    );
  const listNamespaces: Run = async (c, f) => writeNamespaceViews((await c.call('listNamespaces', {})).namespaces, f, false);
  sub(namespace, 'get', 'get a namespace with its shards, or list namespaces')
    .argument('[namespace]')
    .action((name: string | undefined, _o: unknown, cmd: Command) =>
      go(cmd, () => (name === undefined ? listNamespaces : async (c, f) => writeNamespaceViews([(await c.call('getNamespace', { namespace: name })).namespace!], f, true))),
    );
  sub(namespace, 'list', 'list namespaces').action((_o: unknown, cmd: Command) => go(cmd, () => listNamespaces));

  // ---- data servers
  const dataserver = group('dataserver', 'create, patch, delete, get and list data servers');
  const serverFlags = (c: Command): Command =>
    c
      .option('--public <address>', 'public address for the data server')
      .option('--internal <address>', 'internal address for the data server')
      .option('--label <key=value>', 'label to attach to the data server in key=value form (repeatable)', collect);
  serverFlags(sub(dataserver, 'create', 'create a data server (it becomes a member: shards are placed on it)'))
    .argument('<name>')
    .action((name: string, o: ServerFlags, cmd: Command) =>
      go(cmd, () => {
        if (name.trim() === '') throw new UsageError('data server name must not be empty');
        if (!o.public?.trim()) throw new UsageError('data server public address must not be empty (--public)');
        if (!o.internal?.trim()) throw new UsageError('data server internal address must not be empty (--internal)');
        const server: DataServer = { identity: { name: name.trim(), public: o.public.trim(), internal: o.internal.trim() }, metadata: { labels: parseLabels(o.label) } };
        return async (c, f) => writeDataServer((await c.call('createDataServer', { dataServer: server })).dataServer, f);
      }),
    );
  serverFlags(sub(dataserver, 'patch', 'patch a data server: addresses, labels'))
    .argument('<name>')
    .action((name: string, o: ServerFlags, cmd: Command) =>
      go(cmd, () => {
        if (name.trim() === '') throw new UsageError('data server name must not be empty');
        if (o.public === undefined && o.internal === undefined && o.label === undefined) throw new UsageError('must specify at least one field to patch');
        if (o.public !== undefined && o.public.trim() === '') throw new UsageError('data server public address must not be empty');
        if (o.internal !== undefined && o.internal.trim() === '') throw new UsageError('data server internal address must not be empty');
        const server: DataServer = {
          identity: { name: name.trim(), public: o.public?.trim() ?? '', internal: o.internal?.trim() ?? '' },
          metadata: o.label === undefined ? undefined : { labels: parseLabels(o.label) },
        };
        return async (c, f) => writeDataServer((await c.call('patchDataServer', { dataServer: server })).dataServer, f);
      }),
    );
  sub(dataserver, 'delete', 'delete a data server (DRAINING until its replicas have moved)')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) =>
      go(cmd, () => {
        if (name.trim() === '') throw new UsageError('data server name must not be empty');
        return async (c, f) => writeDataServer((await c.call('deleteDataServer', { dataServer: name.trim() })).dataServer, f);
      }),
    );
  const listServers: Run = async (c, f) => writeDataServerViews((await c.call('listDataServers', {})).dataServers, f, false);
  sub(dataserver, 'get', 'get a data server with its state, or list data servers')
    .argument('[name]')
    .action((name: string | undefined, _o: unknown, cmd: Command) =>
      go(cmd, () => (name === undefined ? listServers : async (c, f) => writeDataServerViews([(await c.call('getDataServer', { dataServer: name })).dataServer!], f, true))),
    );
  sub(dataserver, 'list', 'list data servers with their state (RUNNING, UNAVAILABLE, DRAINING)').action((_o: unknown, cmd: Command) => go(cmd, () => listServers));

  // ---- shards
  const shard = group('shard', 'operations on shards');
  sub(shard, 'split', 'split a shard into two children at the split point (or the middle of its range)')
    .option('--namespace <namespace>', 'namespace of the shard to split', 'default')
    .requiredOption('--shard <id>', 'shard id to split')
    .option('--split-point <hash>', 'explicit hash split point (default: the midpoint)')
    .action((o: { namespace: string; shard: string; splitPoint?: string }, cmd: Command) =>
      go(cmd, () => {
        if (!/^\d+$/.test(o.shard)) throw new UsageError(`--shard: must be a shard id, got "${o.shard}"`);
        const splitPoint = o.splitPoint === undefined ? undefined : uint32('--split-point', o.splitPoint);
        return async (c, f) => {
          const r = await c.call('splitShard', { namespace: o.namespace, shard: BigInt(o.shard), splitPoint });
          const value = { left_child_shard: Number(r.leftChildShard), right_child_shard: Number(r.rightChildShard) };
          return f === 'table' ? formatTable(['LEFT_CHILD_SHARD', 'RIGHT_CHILD_SHARD'], [[String(value.left_child_shard), String(value.right_child_shard)]]) : formatStructured(f, value);
        };
      }),
    );
  return admin;
}

interface ServerFlags {
  public?: string;
  internal?: string;
  label?: string[];
}

/** `--notifications` (true), `--notifications=false`, as Go's boolean flags. */
function notificationsOption(): Option {
  return new Option('--notifications [enabled]', 'whether notifications are enabled (default true)').argParser((v: string | undefined) => {
    if (v === undefined || v === 'true') return true;
    if (v === 'false') return false;
    throw new UsageError(`--notifications: must be true or false, got "${v}"`);
  });
}

async function execute(outcome: CommandOutcome, cmd: Command, prepare: () => Run): Promise<void> {
  const g = cmd.optsWithGlobals<AdminOptions>();
  let run: Run;
  let client: GrpcAdminClient;
  let format: OutputFormat;
  let standbyRetryMs: number;
  try {
    format = outputFormat(g.output);
    run = prepare();
    standbyRetryMs = nonNegativeDuration('--standby-retry', g.standbyRetry);
    client = connect(g);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    outcome.exitCode = EXIT_USAGE;
    return;
  }
  try {
    process.stdout.write(await retryingStandbyRefusals(() => run(client, format), standbyRetryMs));
    outcome.exitCode = EXIT_OK;
  } catch (e) {
    process.stderr.write(`Error: ${describeFailure(e)}\n`);
    outcome.exitCode = EXIT_FAILURE;
  } finally {
    client.close();
  }
}

/**
 * Runs `call` again, with backoff, while a coordinator standing by (or still taking charge)
 * refuses it, for at most `budgetMs`: behind one address (a Kubernetes Service) the active
 * coordinator answers one of the next calls. Such a refusal means the call was not carried out,
 * so retrying a change is safe; every other failure is final at once.
 */
async function retryingStandbyRefusals<T>(call: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const delayMs = backoffDelayMs(DEFAULT_RETRY_BACKOFF, attempt, Math.random());
      if (!isStandbyRefusal(e) || Date.now() + delayMs > deadline) throw e;
      if (attempt === 0) process.stderr.write(`the coordinator stands by; retrying for up to ${Math.round(budgetMs / 1000)} s (--standby-retry)\n`);
      await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** The refusal of a coordinator that does not hold the lease (ADR 0023): UNAVAILABLE, saying so. */
function isStandbyRefusal(e: unknown): boolean {
  const se = e as Partial<ServiceError>;
  return se?.code === GrpcCode.UNAVAILABLE && /stands by|taking charge/.test(se.details ?? '');
}

function nonNegativeDuration(flag: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < 0) throw new UsageError(`${flag}: must be a duration such as 0s, 500ms, 10s or 1m, got "${text}"`);
  return ms;
}

function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`unsupported output format "${value}", expected one of: json, yaml, table`);
}

function connect(g: AdminOptions): GrpcAdminClient {
  const requestTimeoutMs = parseDurationMs(g.requestTimeout);
  if (requestTimeoutMs === undefined || requestTimeoutMs <= 0) throw new UsageError(`--request-timeout: must be a positive duration such as 500ms, 30s or 1m, got "${g.requestTimeout}"`);
  if (g.authToken !== undefined && g.authTokenFile !== undefined) throw new UsageError('--auth-token and --auth-token-file cannot both be given');
  let token = g.authToken;
  if (g.authTokenFile !== undefined) {
    try {
      token = readFileSync(g.authTokenFile, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`--auth-token-file: cannot read ${g.authTokenFile}: ${(e as Error).message}`);
    }
  }
  let tls;
  try {
    tls = clientTlsOf(g);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.problems.join('; '));
    if (e instanceof TlsFileError) throw new UsageError(e.message);
    throw e;
  }
  const security = tls ? channelSecurityFromPem(tls, tls) : PLAINTEXT;
  return new GrpcAdminClient(g.adminAddress, { security, token, requestTimeoutMs });
}

function describeFailure(e: unknown): string {
  const se = e as Partial<ServiceError>;
  if (typeof se?.code === 'number') return `${GrpcCode[se.code] ?? se.code}: ${se.details ?? se.message}`;
  return e instanceof Error ? e.message : String(e);
}

function requireNamespaceName(name: string): void {
  if (!isValidNamespaceName(name)) throw new UsageError(`"${name}" is not a valid namespace name (letters, digits, '.', '_', '-'; 1 to 253 characters)`);
}

function positive(flag: string, text: string, zeroMessage: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) throw new UsageError(`${flag}: must be a positive integer, got "${text}"`);
  if (Number(text) === 0) throw new UsageError(zeroMessage);
  return Number(text);
}

function uint32(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) throw new UsageError(`${flag}: must be an integer from 0 to 4294967295, got "${text}"`);
  return Number(text);
}

function parseLabels(labels: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels ?? []) {
    const at = l.indexOf('=');
    if (at <= 0) throw new UsageError(`--label: expected key=value, got "${l}"`);
    out[l.slice(0, at).trim()] = l.slice(at + 1).trim();
  }
  return out;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

// ---- output

function writeNamespace(ns: Namespace | undefined, f: OutputFormat): string {
  if (!ns) throw new Error('the coordinator answered without a namespace');
  if (f !== 'table') return formatStructured(f, namespacePlain(ns, f === 'json' ? 'snake' : 'camel')!);
  return formatTable(['NAME', 'INITIAL_SHARDS', 'REPLICATION_FACTOR'], [[ns.name, String(ns.initialShardCount), String(ns.replicationFactor)]]);
}

function writeNamespaceViews(views: readonly NamespaceView[], f: OutputFormat, single: boolean): string {
  if (f !== 'table') {
    const plain = views.map((v) => namespaceViewPlain(v, f === 'json' ? 'snake' : 'camel'));
    return formatStructured(f, single ? plain[0]! : plain);
  }
  return formatTable(
    ['NAME', 'INITIAL_SHARDS', 'REPLICATION_FACTOR'],
    views.map((v) => [v.namespace?.name ?? '', String(v.namespace?.initialShardCount ?? 0), String(v.namespace?.replicationFactor ?? 0)]),
  );
}

function writeDataServer(d: DataServer | undefined, f: OutputFormat): string {
  if (!d) throw new Error('the coordinator answered without a data server');
  if (f !== 'table') return formatStructured(f, dataServerPlain(d, f === 'json' ? 'snake' : 'camel')!);
  const i = d.identity;
  return formatTable(['NAME', 'PUBLIC', 'INTERNAL', 'LABELS'], [[i?.name ?? i?.internal ?? '', i?.public ?? '', i?.internal ?? '', labelsText(d.metadata?.labels)]]);
}

function writeDataServerViews(views: readonly DataServerView[], f: OutputFormat, single: boolean): string {
  if (f !== 'table') {
    const plain = views.map((v) => dataServerViewPlain(v, f === 'json' ? 'snake' : 'camel'));
    return formatStructured(f, single ? plain[0]! : plain);
  }
  return formatTable(
    ['NAME', 'PUBLIC', 'INTERNAL', 'STATE'],
    views.map((v) => {
      const i = v.dataServer?.identity;
      return [i?.name ?? i?.internal ?? '', i?.public ?? '', i?.internal ?? '', v.dataServerStatus ? stateName(v.dataServerStatus.state) : ''];
    }),
  );
}
