/**
 * The `--tls-*` flags of the commands that call a server (`client`, `perf`, `health`), declared
 * from CLIENT_TLS_OPTIONS, and turned into the client library's `tls` option: the files are read
 * once (these commands are short-lived; long-running roles follow rotation, see tls-options.ts).
 */
import { Command, Option } from 'commander';
import { readTlsMaterial, type TlsMaterial } from '../../adapters/tls/tls-files.js';
import type { ClientTlsOptions } from '../../adapters/client/options.js';
import { ConfigError } from '../config/option-table.js';
import { CLIENT_TLS_OPTIONS, clientTlsSettingsOf } from '../config/tls-options.js';

/** What commander hands over for CLIENT_TLS_OPTIONS. */
export interface ClientTlsFlags {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsTrustedCaFile?: string;
  tlsServerName?: string;
  tlsInsecureSkipVerify?: boolean;
}

export function addClientTlsFlags(command: Command): Command {
  for (const row of CLIENT_TLS_OPTIONS) {
    command.addOption(new Option('valueName' in row ? `--${row.name} <${row.valueName}>` : `--${row.name}`, row.help));
  }
  return command;
}

/** The library's `tls` option (undefined: plaintext); throws ConfigError or TlsFileError (naming the file). */
export function clientTlsOf(flags: ClientTlsFlags): (ClientTlsOptions & TlsMaterial) | undefined {
  const problems: string[] = [];
  const settings = clientTlsSettingsOf(
    {
      certFile: flags.tlsCertFile,
      keyFile: flags.tlsKeyFile,
      trustedCaFile: flags.tlsTrustedCaFile,
      serverName: flags.tlsServerName,
      insecureSkipVerify: flags.tlsInsecureSkipVerify === true,
    },
    '',
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  if (settings === undefined) return undefined;
  const { ca, cert, key } = readTlsMaterial(settings);
  return { ca, cert, key, serverName: settings.serverName, insecureSkipVerify: settings.insecureSkipVerify };
}
