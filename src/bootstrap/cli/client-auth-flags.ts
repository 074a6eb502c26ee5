/**
 * The `--auth-token` / `--auth-token-file` flags of the commands that call a server (`client`,
 * `perf`, `health`), turned into the client library's `authentication`: the token goes as
 * `authorization: Bearer <token>` on every call. The file is read once (these commands are
 * short-lived), its surrounding whitespace dropped (a file written by `echo` ends in a newline).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { TokenAuthentication } from '../../adapters/client/index.js';
import { ConfigError } from '../config/option-table.js';

/** What commander hands over for the two flags. */
export interface ClientAuthFlags {
  authToken?: string;
  authTokenFile?: string;
}

export function addClientAuthFlags(command: Command): Command {
  return command
    .addOption(new Option('--auth-token <token>', 'bearer token for authenticated requests'))
    .addOption(new Option('--auth-token-file <file>', 'path to a bearer token file for authenticated requests'));
}

/** The library's `authentication` option (undefined: no token); throws ConfigError naming the flag. */
export function clientAuthenticationOf(flags: ClientAuthFlags): TokenAuthentication | undefined {
  if (flags.authToken !== undefined && flags.authTokenFile !== undefined) throw new ConfigError(['--auth-token and --auth-token-file cannot both be given']);
  let token = flags.authToken;
  if (flags.authTokenFile !== undefined) {
    try {
      token = readFileSync(flags.authTokenFile, 'utf8').trim();
    } catch (e) {
      throw new ConfigError([`--auth-token-file: cannot read ${flags.authTokenFile}: ${(e as Error).message}`]);
    }
    if (token === '') throw new ConfigError([`--auth-token-file: ${flags.authTokenFile} is empty`]);
  }
  if (token === undefined) return undefined;
  if (token.trim() === '') throw new ConfigError(['--auth-token: empty']);
  return new TokenAuthentication(token);
}
