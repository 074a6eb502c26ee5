/**
 * `oxia-ts backup` and `oxia-ts restore` (ADR 0030): a namespace copied shard by shard from
 * the leaders into a directory with a manifest, and loaded back into an empty namespace of any
 * running cluster or standalone server. They take the client's connection flags (-a, -n,
 * --tls-*, --auth-token(-file), --request-timeout). Exit status: 0 done, 1 failed (nothing of
 * a refused restore was written), 2 usage errors.
 */
import { Command, Option } from 'commander';
import { backupNamespace } from '../../adapters/backup/namespace-backup.js';
import { DamagedBackupError, RestoreRefusedError, restoreNamespace, verifyBackup } from '../../adapters/backup/namespace-restore.js';
import { OxiaClient, type TokenAuthentication } from '../../adapters/client/index.js';
import type { ClientTlsOptions } from '../../adapters/client/options.js';
import { TlsFileError } from '../../adapters/tls/tls-files.js';
import { ConfigError } from '../config/option-table.js';
import { parseDurationMs } from '../config/values.js';
import { addClientAuthFlags, clientAuthenticationOf, type ClientAuthFlags } from './client-auth-flags.js';
import { addClientTlsFlags, clientTlsOf, type ClientTlsFlags } from './client-tls-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

interface ConnectionFlags extends ClientTlsFlags, ClientAuthFlags {
  serviceAddress: string;
  namespace: string;
  requestTimeout: string;
}

interface Connection {
  readonly requestTimeoutMs: number;
  readonly tls: ClientTlsOptions | undefined;
  readonly authentication: TokenAuthentication | undefined;
}

function withConnectionFlags(command: Command): Command {
  command
    .addOption(new Option('-a, --service-address <host:port>', 'service address').default('localhost:6648'))
    .addOption(new Option('-n, --namespace <namespace>', 'the Oxia namespace').default('default'))
    .addOption(new Option('--request-timeout <duration>', 'requests timeout').default('30s'));
  return addClientTlsFlags(addClientAuthFlags(command));
}

/** The flags as the library takes them; a message for the operator when they do not fit. */
function connectionOf(flags: ConnectionFlags): Connection | string {
  const requestTimeoutMs = parseDurationMs(flags.requestTimeout);
  if (requestTimeoutMs === undefined || requestTimeoutMs <= 0) return `--request-timeout: must be a positive duration such as 500ms, 30s or 1m, got "${flags.requestTimeout}"`;
  try {
    return { requestTimeoutMs, tls: clientTlsOf(flags), authentication: clientAuthenticationOf(flags) };
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('; ');
    if (e instanceof TlsFileError) return e.message;
    throw e;
  }
}

const progress = (line: string): void => void process.stderr.write(`${line}\n`);

export function backupCommand(outcome: CommandOutcome): Command {
  return withConnectionFlags(new Command('backup'))
    .description("copy a namespace's records, each shard as of one committed offset, into a directory with a manifest")
    .addOption(new Option('--out <dir>', 'directory to write the backup into (created if missing; must hold no backup)').makeOptionMandatory())
    .addOption(new Option('--include-ephemeral', 'also copy ephemeral records (a restore writes them as persistent records)'))
    .action(async (flags: ConnectionFlags & { out: string; includeEphemeral?: boolean }) => {
      const connection = connectionOf(flags);
      if (typeof connection === 'string') {
        process.stderr.write(`oxia-ts backup: ${connection}\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      try {
        const manifest = await backupNamespace({
          serviceAddress: flags.serviceAddress,
          namespace: flags.namespace,
          outDir: flags.out,
          includeEphemeral: flags.includeEphemeral === true,
          requestTimeoutMs: connection.requestTimeoutMs,
          authentication: connection.authentication,
          tls: connection.tls,
          progress,
        });
        process.stdout.write(`backed up ${manifest.records} records of namespace "${manifest.namespace}" (${manifest.shards.length} shards) into ${flags.out}\n`);
        outcome.exitCode = EXIT_OK;
      } catch (error) {
        process.stderr.write(`oxia-ts backup: ${messageOf(error)}\n`);
        outcome.exitCode = EXIT_FAILURE;
      }
    });
}

export function restoreCommand(outcome: CommandOutcome): Command {
  return withConnectionFlags(new Command('restore'))
    .description('load a backup into an empty namespace (records re-routed by hash, with new version ids)')
    .addOption(new Option('--in <dir>', 'directory of the backup').makeOptionMandatory())
    .action(async (flags: ConnectionFlags & { in: string }) => {
      const connection = connectionOf(flags);
      if (typeof connection === 'string') {
        process.stderr.write(`oxia-ts restore: ${connection}\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      let client: OxiaClient | undefined;
      try {
        // Every file is checked before a connection is even made: a damaged backup writes nothing.
        const backup = await verifyBackup(flags.in);
        client = await OxiaClient.connect(flags.serviceAddress, {
          namespace: flags.namespace,
          requestTimeoutMs: connection.requestTimeoutMs,
          ...(connection.tls !== undefined ? { tls: connection.tls } : {}),
          ...(connection.authentication !== undefined ? { authentication: connection.authentication } : {}),
          logger: { warn: () => {} },
        });
        const summary = await restoreNamespace(client, backup, progress);
        process.stdout.write(`restored ${summary.records} records of namespace "${backup.manifest.namespace}" into namespace "${flags.namespace}"\n`);
        outcome.exitCode = EXIT_OK;
      } catch (error) {
        process.stderr.write(`oxia-ts restore: ${messageOf(error)}\n`);
        outcome.exitCode = EXIT_FAILURE;
      } finally {
        await client?.close().catch(() => {});
      }
    });
}

function messageOf(error: unknown): string {
  if (error instanceof DamagedBackupError) return `damaged backup, nothing written: ${error.message}`;
  if (error instanceof RestoreRefusedError) return `refused, nothing written: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
