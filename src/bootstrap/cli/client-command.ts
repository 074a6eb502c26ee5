/**
 * `oxia-ts client`: Oxia's CLI client (`oxia client ...`): put, get, delete,
 * delete-range, list, range-scan, notifications, sequence-updates, with Oxia's
 * subcommand and flag names. Human output by default; `--json` prints one JSON object
 * per line (version fields named as Oxia's CLI names them). Exit status: 0 ok, 1 when
 * the key is not found, the version is not the expected one or the operation failed,
 * 2 for usage errors.
 */
import { Command, Option } from 'commander';
import { TlsFileError } from '../../adapters/tls/tls-files.js';
import { ConfigError } from '../config/option-table.js';
import { addClientAuthFlags, clientAuthenticationOf, type ClientAuthFlags } from './client-auth-flags.js';
import { addClientTlsFlags, clientTlsOf, type ClientTlsFlags } from './client-tls-flags.js';
import {
  ComparisonType,
  EXPECTED_RECORD_DOES_NOT_EXIST,
  InvalidOptionsError,
  KeyNotFoundError,
  NotificationType,
  OxiaClient,
  OxiaError,
  UnexpectedVersionIdError,
  type GetResult,
  type Notification,
  type OxiaClientOptions,
  type PutOptions,
  type Version,
} from '../../adapters/client/index.js';
import { parseDurationMs } from '../config/values.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

/** Oxia's default public port. */
const DEFAULT_SERVICE_ADDRESS = 'localhost:6648';
const RECORD_SEPARATOR = `${'-'.repeat(79)}\n`;

/** A mistake in the command line, found before anything is sent: exit 2. */
class UsageError extends Error {}

interface GlobalOptions extends ClientTlsFlags, ClientAuthFlags {
  serviceAddress: string;
  namespace: string;
  requestTimeout: string;
  json?: boolean;
}

/** The work of a subcommand once its arguments are checked; resolves with the exit code. */
interface Operation {
  (client: OxiaClient, out: Output): Promise<number>;
  /** The client's session timeout, for an operation that creates an ephemeral record. */
  sessionTimeoutMs?: number;
}

export function clientCommand(outcome: CommandOutcome): Command {
  const client = new Command('client')
    .description('read and write records (put, get, delete, delete-range, list, range-scan, notifications, sequence-updates)')
    .addOption(new Option('-a, --service-address <host:port>', 'service address').default(DEFAULT_SERVICE_ADDRESS))
    .addOption(new Option('-n, --namespace <namespace>', 'the Oxia namespace to use').default('default'))
    .addOption(new Option('--request-timeout <duration>', 'requests timeout').default('30s'));
  addClientAuthFlags(client);
  client.addOption(new Option('--json', 'print JSON (one object per line) instead of human output'));
  addClientTlsFlags(client);

  const sub = (name: string, description: string): Command => {
    const c = new Command(name).description(description).exitOverride().showHelpAfterError(`(oxia-ts client ${name} --help lists the options)`);
    client.addCommand(c);
    return c;
  };

  sub('put', 'put a value under KEY: insert, or update the existing record (conditionally with --expected-version)')
    .argument('<key>')
    .argument('[value]')
    .addOption(new Option('-e, --expected-version <version>', 'version the record must have on the server'))
    .addOption(new Option('--create-only', 'only if the record does not exist yet'))
    .addOption(new Option('-c, --std-in', 'read the value from standard input'))
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .addOption(new Option('-d, --sequence-keys-deltas <deltas>', 'sequence key deltas, comma separated; the server appends the sequence suffixes to KEY').argParser(collect))
    .addOption(new Option('--ephemeral', "tie the record to this command's session: it lives until the command is interrupted"))
    .addOption(new Option('--session-timeout <duration>', 'session timeout of an ephemeral record').default('15s'))
    .addOption(new Option('--index <name=key>', 'secondary index entry (repeatable)').argParser(collect))
    .action((key: string, value: string | undefined, o: PutFlags, cmd: Command) => execute(outcome, cmd, () => putOperation(key, value, o)));

  sub('get', 'get the record matching KEY')
    .argument('<key>')
    .addOption(new Option('-v, --include-version', 'include the record version'))
    .addOption(new Option('--hex', 'print the value as a hex dump'))
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .addOption(new Option('--index <name>', 'look KEY up in this secondary index'))
    .addOption(new Option('-t, --comparison-type <type>', 'equal, floor, ceiling, lower or higher').default('equal'))
    .action((key: string, o: GetFlags, cmd: Command) => execute(outcome, cmd, () => getOperation(key, o)));

  sub('delete', 'delete the record with KEY (conditionally with --expected-version)')
    .argument('<key>')
    .addOption(new Option('-e, --expected-version <version>', 'version the record must have on the server'))
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .action((key: string, o: { expectedVersion?: string; partitionKey?: string }, cmd: Command) =>
      execute(outcome, cmd, () => {
        const expectedVersionId = parseVersion(o.expectedVersion);
        return async (c, out) => {
          const existed = await c.delete(key, {
            ...(o.partitionKey !== undefined ? { partitionKey: o.partitionKey } : {}),
            ...(expectedVersionId !== undefined ? { expectedVersionId } : {}),
          });
          if (!existed) throw new KeyNotFoundError(`delete '${key}': key not found`);
          if (out.json) out.object({ key, deleted: true });
          return EXIT_OK;
        };
      }),
    );

  sub('delete-range', 'delete the records with keys in [--key-min, --key-max)')
    .addOption(new Option('-s, --key-min <key>', 'key range minimum (inclusive)').makeOptionMandatory())
    .addOption(new Option('-e, --key-max <key>', 'key range maximum (exclusive)').makeOptionMandatory())
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .action((o: RangeFlags, cmd: Command) =>
      execute(outcome, cmd, () => async (c, out) => {
        await c.deleteRange(o.keyMin, o.keyMax, o.partitionKey !== undefined ? { partitionKey: o.partitionKey } : {});
        if (out.json) out.object({ key_min: o.keyMin, key_max: o.keyMax, deleted: true });
        return EXIT_OK;
      }),
    );

  sub('list', 'list the keys in [--key-min, --key-max)')
    .addOption(new Option('-s, --key-min <key>', 'key range minimum (inclusive)').default(''))
    .addOption(new Option('-e, --key-max <key>', 'key range maximum (exclusive)').default(''))
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .addOption(new Option('--index <name>', 'the bounds are secondary keys of this index'))
    .addOption(new Option('--internal-keys', 'also the server\'s internal records ("__oxia/...": sessions, notifications, index entries)'))
    .action((o: RangeFlags, cmd: Command) =>
      execute(outcome, cmd, () => async (c, out) => {
        for (const key of await c.list(o.keyMin, o.keyMax, rangeOptions(o))) {
          if (out.json) out.object({ key });
          else out.text(`${key}\n`);
        }
        return EXIT_OK;
      }),
    );

  sub('range-scan', 'print the records with keys in [--key-min, --key-max)')
    .addOption(new Option('-s, --key-min <key>', 'key range minimum (inclusive)').default(''))
    .addOption(new Option('-e, --key-max <key>', 'key range maximum (exclusive)').default(''))
    .addOption(new Option('-v, --include-version', 'include the record version'))
    .addOption(new Option('--hex', 'print the values as hex dumps'))
    .addOption(new Option('-p, --partition-key <key>', 'partition key that overrides the shard routing'))
    .addOption(new Option('--index <name>', 'the bounds are secondary keys of this index'))
    .addOption(new Option('--internal-keys', 'also the server\'s internal records ("__oxia/...": sessions, notifications, index entries)'))
    .action((o: RangeFlags & ValueFlags, cmd: Command) =>
      execute(outcome, cmd, () => async (c, out) => {
        let first = true;
        for await (const record of c.rangeScan(o.keyMin, o.keyMax, rangeOptions(o))) {
          if (!out.json && !first) out.text(RECORD_SEPARATOR);
          first = false;
          out.record(record, o);
        }
        return EXIT_OK;
      }),
    );

  sub('notifications', 'follow the change notifications of the namespace (until interrupted)').action((_o: unknown, cmd: Command) =>
    execute(outcome, cmd, () => async (c, out) => {
      const subscription = c.getNotifications();
      const stop = untilInterrupted(() => subscription.close());
      try {
        for await (const n of subscription) out.notification(n);
      } finally {
        stop();
      }
      return EXIT_OK;
    }),
  );

  sub('sequence-updates', 'follow the highest key of the sequence KEY (until interrupted)')
    .argument('<key>')
    .addOption(new Option('-p, --partition-key <key>', 'partition key of the sequence').makeOptionMandatory())
    .action((key: string, o: { partitionKey: string }, cmd: Command) =>
      execute(outcome, cmd, () => async (c, out) => {
        const updates = c.getSequenceUpdates(key, { partitionKey: o.partitionKey });
        const stop = untilInterrupted(() => updates.close());
        try {
          for await (const latest of updates) {
            if (out.json) out.object({ key: latest });
            else out.text(`${latest}\n`);
          }
        } finally {
          stop();
        }
        return EXIT_OK;
      }),
    );

  return client;
}

// ---- subcommands that need more than a few lines --------------------------------------

interface ValueFlags {
  includeVersion?: boolean;
  hex?: boolean;
}

interface GetFlags extends ValueFlags {
  partitionKey?: string;
  index?: string;
  comparisonType: string;
}

interface RangeFlags {
  keyMin: string;
  keyMax: string;
  partitionKey?: string;
  index?: string;
  internalKeys?: boolean;
}

interface PutFlags {
  expectedVersion?: string;
  createOnly?: boolean;
  stdIn?: boolean;
  partitionKey?: string;
  sequenceKeysDeltas?: string[];
  ephemeral?: boolean;
  sessionTimeout: string;
  index?: string[];
}

const COMPARISONS: Readonly<Record<string, ComparisonType>> = {
  equal: ComparisonType.EQUAL,
  floor: ComparisonType.FLOOR,
  ceiling: ComparisonType.CEILING,
  lower: ComparisonType.LOWER,
  higher: ComparisonType.HIGHER,
};

function getOperation(key: string, o: GetFlags): Operation {
  const comparisonType = COMPARISONS[o.comparisonType];
  if (comparisonType === undefined) throw new UsageError(`--comparison-type: must be one of ${Object.keys(COMPARISONS).join(', ')}, got "${o.comparisonType}"`);
  return async (c, out) => {
    const record = await c.get(key, {
      comparisonType,
      ...(o.partitionKey !== undefined ? { partitionKey: o.partitionKey } : {}),
      ...(o.index !== undefined ? { useIndex: o.index } : {}),
    });
    out.record(record, o);
    return EXIT_OK;
  };
}

function putOperation(key: string, value: string | undefined, o: PutFlags): Operation {
  if (value !== undefined && o.stdIn === true) throw new UsageError('the value can either be given as an argument or read from standard input (-c), not both');
  if (value === undefined && o.stdIn !== true) throw new UsageError('no value given for the record (give VALUE, or -c to read it from standard input)');
  const expectedVersionId = parseVersion(o.expectedVersion);
  if (expectedVersionId !== undefined && o.createOnly === true) throw new UsageError('--expected-version and --create-only cannot both be given');
  const deltas = (o.sequenceKeysDeltas ?? []).flatMap((d) => d.split(',')).map((d) => {
    if (!/^\d+$/.test(d.trim())) throw new UsageError(`--sequence-keys-deltas: "${d}" is not a non-negative integer`);
    return Number(d.trim());
  });
  const secondaryIndexes: Record<string, string> = {};
  for (const entry of o.index ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--index: must be NAME=KEY, got "${entry}"`);
    secondaryIndexes[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const sessionTimeoutMs = parseDurationMs(o.sessionTimeout);
  if (sessionTimeoutMs === undefined) throw new UsageError(`--session-timeout: must be a duration such as 500ms, 30s or 1m, got "${o.sessionTimeout}"`);
  const options: PutOptions = {
    ...(o.partitionKey !== undefined ? { partitionKey: o.partitionKey } : {}),
    ...(expectedVersionId !== undefined ? { expectedVersionId } : {}),
    ...(o.createOnly === true ? { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST } : {}),
    ...(deltas.length > 0 ? { sequenceKeysDeltas: deltas } : {}),
    ...(Object.keys(secondaryIndexes).length > 0 ? { secondaryIndexes } : {}),
    ...(o.ephemeral === true ? { ephemeral: true } : {}),
  };
  const operation: Operation = async (c, out) => {
    const bytes = value !== undefined ? Buffer.from(value, 'utf8') : await readStdin();
    const result = await c.put(key, bytes, options);
    out.version(result.key, result.version);
    if (o.ephemeral !== true) return EXIT_OK;
    // The record lives as long as this command's session: hold it until interrupted
    // (closing the client then ends the session, which removes the record).
    if (!out.json) process.stderr.write(`holding the ephemeral record ${result.key} until interrupted (Ctrl-C)\n`);
    const lost = await new Promise<string | undefined>((resolve) => {
      const stopListening = c.onSessionLost((e) => resolve(e.reason));
      untilInterrupted(() => {
        stopListening();
        resolve(undefined);
      });
    });
    if (lost !== undefined) throw new OxiaError(`the session of the ephemeral record ${result.key} was lost: ${lost}`, { kind: 'SessionNotFound' });
    return EXIT_OK;
  };
  operation.sessionTimeoutMs = sessionTimeoutMs;
  return operation;
}

// ---- running a subcommand ---------------------------------------------------------------

/**
 * Checks the arguments (`prepare` throws UsageError), connects, runs the operation and
 * closes the client; sets the exit code.
 */
async function execute(outcome: CommandOutcome, cmd: Command, prepare: () => Operation): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const out = new Output(g.json === true);
  let operation: Operation;
  let options: OxiaClientOptions;
  try {
    operation = prepare();
    options = clientOptions(g, operation.sessionTimeoutMs);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    outcome.exitCode = out.failure(e, `oxia-ts client ${cmd.name()}`);
    return;
  }
  let client: OxiaClient | undefined;
  try {
    client = await OxiaClient.connect(g.serviceAddress, options);
    outcome.exitCode = await operation(client, out);
  } catch (e) {
    outcome.exitCode = out.failure(e, `oxia-ts client ${cmd.name()}`);
  } finally {
    await client?.close().catch(() => {});
  }
}

function clientOptions(g: GlobalOptions, sessionTimeoutMs: number | undefined): OxiaClientOptions {
  const requestTimeoutMs = parseDurationMs(g.requestTimeout);
  if (requestTimeoutMs === undefined || requestTimeoutMs <= 0) throw new UsageError(`--request-timeout: must be a positive duration such as 500ms, 30s or 1m, got "${g.requestTimeout}"`);
  let tls;
  let authentication;
  try {
    tls = clientTlsOf(g);
    authentication = clientAuthenticationOf(g);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.problems.join('; '));
    if (e instanceof TlsFileError) throw new UsageError(e.message);
    throw e;
  }
  return {
    namespace: g.namespace,
    requestTimeoutMs,
    ...(tls !== undefined ? { tls } : {}),
    ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
    ...(authentication !== undefined ? { authentication } : {}),
    // Background warnings (reconnects) would only clutter a one-shot command's output.
    logger: { warn: () => {} },
  };
}

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || Number(text) < -1) throw new UsageError(`--expected-version: must be an integer >= -1, got "${text}"`);
  // As in Oxia's CLI, -1 (its default) means "no expectation".
  return Number(text) === -1 ? undefined : Number(text);
}

function rangeOptions(o: RangeFlags): { partitionKey?: string; useIndex?: string; includeInternalKeys?: boolean } {
  return {
    ...(o.partitionKey !== undefined ? { partitionKey: o.partitionKey } : {}),
    ...(o.index !== undefined ? { useIndex: o.index } : {}),
    ...(o.internalKeys === true ? { includeInternalKeys: true } : {}),
  };
}

/** Collects a repeatable option's values (commander passes undefined before the first). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Calls `onSignal` on the first SIGINT or SIGTERM; returns the removal of the handlers. */
function untilInterrupted(onSignal: () => void): () => void {
  const handler = () => {
    remove();
    onSignal();
  };
  const remove = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return remove;
}

// ---- output -------------------------------------------------------------------------------

const NOTIFICATION_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(NotificationType).map(([name, n]) => [n, name]));

/** Human or JSON output of results and failures. */
class Output {
  constructor(readonly json: boolean) {}

  text(s: string | Uint8Array): void {
    process.stdout.write(s);
  }

  object(o: Record<string, unknown>): void {
    process.stdout.write(`${JSON.stringify(o)}\n`);
  }

  version(key: string, v: Version): void {
    if (this.json) this.object(versionFields(key, v));
    else this.text(versionBlock(key, v));
  }

  /** A record as get and range-scan print it: the value (raw or hex), then the version if asked. */
  record(r: GetResult, flags: ValueFlags): void {
    const value = r.value ?? new Uint8Array();
    if (this.json) {
      this.object({ ...valueFields(value), ...versionFields(r.key, r.version) });
      return;
    }
    this.text(flags.hex === true ? hexDump(value) : Buffer.concat([value, Buffer.from('\n')]));
    if (flags.includeVersion === true) this.text(`---\n${versionBlock(r.key, r.version)}`);
  }

  notification(n: Notification): void {
    const type = NOTIFICATION_NAMES[n.type] ?? String(n.type);
    const hasVersion = n.type === NotificationType.KEY_CREATED || n.type === NotificationType.KEY_MODIFIED;
    if (this.json) {
      this.object({ type, key: n.key, ...(hasVersion ? { version_id: n.versionId } : {}), ...(n.keyRangeEnd !== undefined ? { key_range_end: n.keyRangeEnd } : {}) });
    } else {
      const extra = hasVersion ? ` version-id=${n.versionId}` : n.keyRangeEnd !== undefined ? ` key-range-end=${n.keyRangeEnd}` : '';
      this.text(`${type} ${n.key}${extra}\n`);
    }
  }

  /** Reports a failure; returns the exit code it means. */
  failure(e: unknown, who: string): number {
    const code = e instanceof UsageError || e instanceof InvalidOptionsError || e instanceof RangeError ? EXIT_USAGE : EXIT_FAILURE;
    const message = e instanceof Error ? e.message : String(e);
    const kind = e instanceof KeyNotFoundError ? 'KeyNotFound' : e instanceof UnexpectedVersionIdError ? 'UnexpectedVersionId' : e instanceof OxiaError ? e.kind : code === EXIT_USAGE ? 'Usage' : 'Unknown';
    if (this.json) this.object({ error: message, kind });
    process.stderr.write(`${who}: ${message}\n`);
    return code;
  }
}

/** Version fields named as Oxia's CLI prints them. */
function versionFields(key: string, v: Version): Record<string, unknown> {
  return {
    key,
    version_id: v.versionId,
    created_timestamp: v.createdTimestamp.toISOString(),
    modified_timestamp: v.modifiedTimestamp.toISOString(),
    modifications_count: v.modificationsCount,
    ephemeral: v.isEphemeral(),
    session_id: v.sessionId ?? 0,
    client_identity: v.clientIdentity ?? '',
  };
}

/** The value as text when it is UTF-8, else base64 (so JSON output never mangles bytes). */
function valueFields(value: Uint8Array): Record<string, unknown> {
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(value) };
  } catch {
    return { value_base64: Buffer.from(value).toString('base64') };
  }
}

function versionBlock(key: string, v: Version): string {
  const rows: [string, string][] = [
    ['key', key],
    ['version-id', String(v.versionId)],
    ['modifications-count', String(v.modificationsCount)],
    ['created', v.createdTimestamp.toISOString()],
    ['modified', v.modifiedTimestamp.toISOString()],
    ['ephemeral', String(v.isEphemeral())],
  ];
  if (v.isEphemeral()) rows.push(['session-id', String(v.sessionId)], ['client-identity', v.clientIdentity ?? '']);
  return rows.map(([name, value]) => `${`${name}:`.padEnd(21)}${value}\n`).join('');
}

/** The classic hex dump: offset, 16 bytes in hex (two groups of 8), the printable characters. */
export function hexDump(bytes: Uint8Array): string {
  let out = '';
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hex = '';
    for (let i = 0; i < 16; i++) {
      hex += i < row.length ? `${row[i]!.toString(16).padStart(2, '0')} ` : '   ';
      if (i === 7) hex += ' ';
    }
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    out += `${offset.toString(16).padStart(8, '0')}  ${hex} |${ascii}|\n`;
  }
  return out;
}
