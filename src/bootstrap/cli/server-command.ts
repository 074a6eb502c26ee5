/**
 * `oxia-ts server`: a storage node of a replicated cluster. Flags from SERVER_OPTIONS
 * (so help, config files and validation agree), start, serve until SIGTERM/SIGINT,
 * stop cleanly, exit 0. The coordinator (`oxia-ts coordinator`) assigns it shards.
 */
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { parseServerConfig, SERVER_OPTIONS } from '../config/server-config.js';
import type { ServerConfig, ServerRawOptions } from '../config/server-config.js';
import { ConfigError } from '../config/standalone-config.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

/** Time allowed for closing shards and the metrics endpoint after gRPC has stopped. */
const HARD_STOP_MARGIN_MS = 30_000;

export function serverCommand(outcome: CommandOutcome): Command {
  const command = new Command('server')
    .description('run a storage node of a replicated cluster (shards are assigned by the coordinator)')
    .option('-c, --config <file>', 'YAML file with settings named like the flags (flags win over it)');
  const keys = new Map<string, string>();
  for (const spec of SERVER_OPTIONS) {
    const short = 'short' in spec ? `-${spec.short}, ` : '';
    if ('valueName' in spec) {
      const option = new Option(`${short}--${spec.name} <${spec.valueName}>`, spec.help).default(spec.default);
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
    let config: ServerConfig;
    try {
      const raw: Record<string, unknown> = typeof values.config === 'string' ? { ...loadConfigFile(values.config) } : {};
      for (const [attribute, key] of keys) {
        if (cmd.getOptionValueSource(attribute) === 'cli') raw[key] = values[attribute];
      }
      config = parseServerConfig(raw as ServerRawOptions);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`oxia-ts server: ${error.message}\n`);
      outcome.exitCode = EXIT_USAGE;
      return;
    }
    outcome.exitCode = await serveUntilSignalled(config);
  });
  return command;
}

async function serveUntilSignalled(config: ServerConfig): Promise<number> {
  let running;
  try {
    // Loaded only now: --help and usage errors need not load storage engines.
    const { startServer } = await import('../roles/server.js');
    running = await startServer(config);
  } catch (error) {
    process.stderr.write(`oxia-ts server: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
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
