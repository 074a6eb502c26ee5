/**
 * The `oxia-ts` command line. Usage errors exit 2 with a message naming the flag,
 * runtime failures exit 1. Subcommands for the other roles (server, coordinator,
 * client) join here as they are built.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { adminCommand } from './admin-command.js';
import { backupCommand, restoreCommand } from './backup-command.js';
import { clusterCommand } from './cluster-command.js';
import { coordinatorCommand } from './coordinator-command.js';
import { clientCommand } from './client-command.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { healthCommand } from './health-command.js';
import { packageRoot } from '../package-root.js';
import { perfCommand } from './perf-command.js';
import { serverCommand } from './server-command.js';
import { standaloneCommand } from './standalone-command.js';
import type { CommandOutcome } from './standalone-command.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function buildProgram(outcome: CommandOutcome): Command {
  const program = new Command('oxia-ts')
    .description('oxia-ts: a sharded metadata store, wire-compatible with Oxia')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    // -v after a subcommand belongs to the subcommand (`client get -v` as in Oxia), not to --version.
    .enablePositionalOptions();
  program.addCommand(standaloneCommand(outcome));
  program.addCommand(serverCommand(outcome));
  program.addCommand(coordinatorCommand(outcome));
  program.addCommand(clusterCommand(outcome));
  program.addCommand(healthCommand(outcome));
  program.addCommand(clientCommand(outcome));
  program.addCommand(perfCommand(outcome));
  program.addCommand(adminCommand(outcome));
  program.addCommand(backupCommand(outcome));
  program.addCommand(restoreCommand(outcome));
  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: EXIT_OK };
  const program = buildProgram(outcome);
  // exitOverride() is inherited only by commands created after it; set it everywhere.
  for (const command of program.commands) {
    command.exitOverride().showHelpAfterError(`(oxia-ts ${command.name()} --help lists the options)`);
  }
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end in a "success" error; everything else is misuse.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
  return outcome.exitCode;
}
