/**
 * `oxia-ts coordinator`: the coordinator of a replicated cluster. Flags from
 * COORDINATOR_OPTIONS (so help, config files and validation agree); runs until SIGTERM/SIGINT
 * (exit 0 after a clean stop), or until it finds that another coordinator wrote the cluster
 * status (exit 1: it stops acting at once and never overwrites the other's decisions).
 */
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { COORDINATOR_OPTIONS, parseCoordinatorConfig } from '../config/coordinator-config.js';
import type { CoordinatorConfig, CoordinatorRawOptions } from '../config/coordinator-config.js';
import { ConfigError } from '../config/standalone-config.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

/** Time allowed beyond the shutdown timeout before the process exits regardless. */
const HARD_STOP_MARGIN_MS = 15_000;

export function coordinatorCommand(outcome: CommandOutcome): Command {
  const command = new Command('coordinator')
    .description('run the coordinator of a replicated cluster (elections, health checks, shard placement)')
    .option('-c, --config <file>', 'YAML file with settings named like the flags (flags win over it)');
  const keys = new Map<string, string>();
  for (const spec of COORDINATOR_OPTIONS) {
    const short = 'short' in spec ? `-${spec.short}, ` : '';
    const option = new Option(`${short}--${spec.name} <${spec.valueName}>`, spec.help);
    if (spec.default !== undefined) option.default(spec.default);
    command.addOption(option);
    keys.set(option.attributeName(), spec.name);
  }

  command.action(async (_options: unknown, cmd: Command) => {
    const values = cmd.opts<Record<string, unknown>>();
    let config: CoordinatorConfig;
    try {
      const raw: Record<string, unknown> = typeof values.config === 'string' ? { ...loadConfigFile(values.config) } : {};
      for (const [attribute, key] of keys) {
        if (cmd.getOptionValueSource(attribute) === 'cli') raw[key] = values[attribute];
      }
      config = parseCoordinatorConfig(raw as CoordinatorRawOptions);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`oxia-ts coordinator: ${error.message}\n`);
      outcome.exitCode = EXIT_USAGE;
      return;
    }
    outcome.exitCode = await coordinateUntilStopped(config);
  });
  return command;
}

async function coordinateUntilStopped(config: CoordinatorConfig): Promise<number> {
  let running;
  try {
    const { startCoordinator } = await import('../roles/coordinator.js');
    running = await startCoordinator(config);
  } catch (error) {
    process.stderr.write(`oxia-ts coordinator: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
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
      setTimeout(() => {
        logger.error('shutdown did not finish in time; exiting');
        logger.flush();
        process.exit(EXIT_FAILURE);
      }, config.shutdownTimeoutMs + HARD_STOP_MARGIN_MS).unref();
      running.close().then(
        () => resolve(exitCode),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          logger.flush();
          resolve(EXIT_FAILURE);
        },
      );
    };
    void running.failure.then((error) => {
      logger.error('the coordinator stopped acting', { error: error.message });
      stop('another coordinator took over the cluster status', EXIT_FAILURE);
    });
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
