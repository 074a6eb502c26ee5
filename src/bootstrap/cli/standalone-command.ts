/**
 * `oxia-ts standalone`: flags from STANDALONE_OPTIONS (so help, config files and
 * validation agree), start, serve until SIGTERM/SIGINT, stop cleanly, exit 0.
 */
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { ConfigError, parseStandaloneConfig, STANDALONE_OPTIONS } from '../config/standalone-config.js';
import type { RawOptions, StandaloneConfig } from '../config/standalone-config.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

export interface CommandOutcome {
  exitCode: number;
}

export function standaloneCommand(outcome: CommandOutcome): Command {
  const command = new Command('standalone')
    .description('run a standalone server: every shard of the "default" namespace in this one process')
    .option('-c, --config <file>', 'YAML file with settings named like the flags (flags win over it)');
  // Each option knows the config key it fills (flags are the config keys with "--").
  const keys = new Map<string, string>();
  for (const spec of STANDALONE_OPTIONS) {
    const short = 'short' in spec ? `-${spec.short}, ` : '';
    if ('valueName' in spec) {
      const option = new Option(`${short}--${spec.name} <${spec.valueName}>`, spec.help);
      if (spec.default !== undefined) option.default(spec.default);
      command.addOption(option);
      keys.set(option.attributeName(), spec.name);
    } else {
      // Booleans take Oxia's forms: --x, --x=false, --no-x.
      const option = new Option(`${short}--${spec.name} [bool]`, spec.help).default(spec.default);
      command.addOption(option);
      command.addOption(new Option(`--no-${spec.name}`, `same as --${spec.name}=false`));
      keys.set(option.attributeName(), spec.name);
    }
  }

  command.action(async (_options: unknown, cmd: Command) => {
    const values = cmd.opts<Record<string, unknown>>();
    let config: StandaloneConfig;
    try {
      const raw: Record<string, unknown> = typeof values.config === 'string' ? { ...loadConfigFile(values.config) } : {};
      for (const [attribute, key] of keys) {
        if (cmd.getOptionValueSource(attribute) === 'cli') raw[key] = values[attribute];
      }
      config = parseStandaloneConfig(raw as RawOptions);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`oxia-ts standalone: ${error.message}\n`);
      outcome.exitCode = EXIT_USAGE;
      return;
    }
    outcome.exitCode = await serveUntilSignalled(config);
  });
  return command;
}

/** Time allowed for closing shards and the metrics endpoint after gRPC has stopped. */
const HARD_STOP_MARGIN_MS = 30_000;

async function serveUntilSignalled(config: StandaloneConfig): Promise<number> {
  let running;
  try {
    // Loaded only now: --help and usage errors need not load storage engines.
    const { startStandalone } = await import('../roles/standalone.js');
    running = await startStandalone(config);
  } catch (error) {
    // The logger may not exist (bad address, unusable directory): say it plainly too.
    process.stderr.write(`oxia-ts standalone: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
  const { logger } = running;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, exitCode: number): void => {
      if (stopping) {
        logger.warn('second stop request; exiting without waiting', { why });
        logger.flush();
        process.exit(EXIT_FAILURE);
      }
      stopping = true;
      logger.info('shutting down', { why });
      // gRPC cuts calls off at --shutdown-timeout; should closing the shards hang after
      // that (a bug, a dead disk), exit anyway rather than linger half-stopped.
      const hardDeadlineMs = config.shutdownTimeoutMs + HARD_STOP_MARGIN_MS;
      setTimeout(() => {
        logger.error('shutdown did not finish in time; exiting', { hardDeadlineMs });
        logger.flush();
        process.exit(EXIT_FAILURE);
      }, hardDeadlineMs).unref();
      running.close().then(
        () => resolve(exitCode),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          logger.flush();
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM', EXIT_OK));
    process.on('SIGINT', () => stop('SIGINT', EXIT_OK));
    // A bug must not leave a half-working server behind: log it, stop, fail.
    process.on('uncaughtException', (error) => {
      logger.error('uncaught exception', { error });
      stop('uncaught exception', EXIT_FAILURE);
    });
    process.on('unhandledRejection', (error) => {
      logger.error('unhandled promise rejection', { error });
      stop('unhandled promise rejection', EXIT_FAILURE);
    });
  });
}
