/**
 * What every long-running role's command shares: declaring its settings as flags,
 * reading them (config file, then flags that were given), and serving until a signal
 * with an ordered, bounded stop. One copy, so the roles cannot drift apart.
 */
import { Command, Option } from 'commander';
import type { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { PolledFiles } from '../../adapters/files/polled-files.js';
import { ProfilingHttpServer } from '../../adapters/profiling/profiling-http-server.js';
import { loadConfigFile } from '../config/config-file.js';
import { ConfigError } from '../config/option-table.js';
import { PROFILING_OPTIONS, parseProfiling, splitProfiling, type ProfilingConfig } from '../config/profiling-options.js';
import type { OptionSpec } from '../config/option-table.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

/**
 * After --shutdown-timeout (when gRPC cuts calls off) closing may take this much longer;
 * should it hang past that (a bug, a dead disk), the process exits rather than linger
 * half-stopped. Service managers' stop timeouts are set from it (deploy/).
 */
export const HARD_STOP_MARGIN_MS = 30_000;

export interface CommandOutcome {
  exitCode: number;
}

/** A started role, as far as the command needs it. */
export interface RunningRole {
  readonly logger: PinoLogger;
  close(): Promise<void>;
  /** Settles when the role stops acting on its own (e.g. a coordinator that lost the status). */
  readonly failure?: Promise<Error>;
}

/** A started role that can take some settings while it runs (a re-read `--config` file). */
export interface ReconfigurableRole<C> extends RunningRole {
  /** Applies what of `config` may change live (the options in DaemonSpec.liveOptions). */
  reconfigure?(config: C): void;
}

export interface DaemonSpec<C extends { shutdownTimeoutMs: number }> {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  parse(raw: Record<string, unknown>): C;
  /** Loaded lazily by the caller's import: --help and usage errors need not load storage engines. */
  start(config: C): Promise<ReconfigurableRole<C>>;
  /**
   * Options a changed `--config` file may change while the role runs; a change to any
   * other option is logged as needing a restart. None: the file is not watched.
   */
  readonly liveOptions?: ReadonlySet<string>;
}

/**
 * A subcommand that reads the role's settings, starts it and serves until SIGTERM/SIGINT;
 * with --profile, also the profiling endpoint (every role has it, as in Oxia).
 */
export function daemonCommand<C extends { shutdownTimeoutMs: number }>(spec: DaemonSpec<C>, outcome: CommandOutcome): Command {
  const command = new Command(spec.name)
    .description(spec.description)
    .option('-c, --config <file>', 'YAML file with settings named like the flags (flags win over it)');
  // Each option knows the config key it fills (flags are the config keys with "--").
  const keys = new Map<string, string>();
  for (const option of [...spec.options, ...PROFILING_OPTIONS]) {
    const short = option.short ? `-${option.short}, ` : '';
    if (option.valueName) {
      const flag = new Option(`${short}--${option.name} <${option.valueName}>`, option.help);
      if (option.default !== undefined) flag.default(option.default);
      command.addOption(flag);
      keys.set(flag.attributeName(), option.name);
    } else {
      // Booleans take Oxia's forms: --x, --x=false, --no-x.
      const flag = new Option(`${short}--${option.name} [bool]`, option.help).default(option.default);
      command.addOption(flag);
      command.addOption(new Option(`--no-${option.name}`, `same as --${option.name}=false`));
      keys.set(flag.attributeName(), option.name);
    }
  }

  command.action(async (_options: unknown, cmd: Command) => {
    const values = cmd.opts<Record<string, unknown>>();
    const configFile = typeof values.config === 'string' ? values.config : undefined;
    /** The config file's settings with the flags given on the command line over them. */
    const readRaw = (): Record<string, unknown> => {
      const raw: Record<string, unknown> = configFile !== undefined ? { ...loadConfigFile(configFile) } : {};
      for (const [attribute, key] of keys) {
        if (cmd.getOptionValueSource(attribute) === 'cli') raw[key] = values[attribute];
      }
      return raw;
    };
    /** The role's settings, without the profiling ones the daemon handles itself. */
    const parseRole = (raw: Record<string, unknown>): C => spec.parse(splitProfiling(raw).role);
    let raw: Record<string, unknown>;
    let config: C;
    let profiling: ProfilingConfig;
    try {
      raw = readRaw();
      profiling = parseProfiling(splitProfiling(raw).profiling);
      config = parseRole(raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`oxia-ts ${spec.name}: ${error.message}\n`);
      outcome.exitCode = EXIT_USAGE;
      return;
    }
    const reload = configFile === undefined || spec.liveOptions === undefined ? undefined : { file: configFile, readRaw, raw, liveOptions: spec.liveOptions };
    outcome.exitCode = await serveUntilSignalled(spec, config, parseRole, profiling, reload);
  });
  return command;
}

interface ConfigReload {
  readonly file: string;
  readRaw(): Record<string, unknown>;
  readonly raw: Record<string, unknown>;
  readonly liveOptions: ReadonlySet<string>;
}

/**
 * Watches the config file of a running role: each change is read and validated like at
 * start (flags given on the command line still win); the options that may change live
 * are handed to the role, the others are logged as waiting for a restart. A file that
 * does not parse is logged and changes nothing.
 */
function watchConfigFile<C>(reload: ConfigReload, parse: (raw: Record<string, unknown>) => C, running: ReconfigurableRole<C>): PolledFiles {
  let applied = reload.raw;
  const { logger } = running;
  return new PolledFiles([reload.file], () => {
    let raw: Record<string, unknown>;
    let next: C;
    try {
      raw = reload.readRaw();
      next = parse(raw);
    } catch (error) {
      logger.warn('the config file changed but cannot be used; the running settings stay', { file: reload.file, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    const changed = [...new Set([...Object.keys(applied), ...Object.keys(raw)])].filter((k) => JSON.stringify(applied[k]) !== JSON.stringify(raw[k]));
    if (changed.length === 0) return;
    const live = changed.filter((k) => reload.liveOptions.has(k));
    const restart = changed.filter((k) => !reload.liveOptions.has(k));
    if (live.length > 0) {
      try {
        running.reconfigure?.(next);
        logger.info('configuration reloaded', { file: reload.file, changed: live });
      } catch (error) {
        logger.warn('applying the reloaded configuration failed', { file: reload.file, error: error instanceof Error ? error.message : String(error) });
        return;
      }
    }
    if (restart.length > 0) logger.warn('configuration changes that take effect only after a restart', { file: reload.file, options: restart });
    applied = raw;
  });
}

async function serveUntilSignalled<C extends { shutdownTimeoutMs: number }>(
  spec: DaemonSpec<C>,
  config: C,
  parseRole: (raw: Record<string, unknown>) => C,
  profiling: ProfilingConfig,
  reload: ConfigReload | undefined,
): Promise<number> {
  let running: ReconfigurableRole<C>;
  let profiler: ProfilingHttpServer | undefined;
  try {
    running = await spec.start(config);
  } catch (error) {
    // Configuration only the start could check (a key file named in a setting): a usage error.
    if (error instanceof ConfigError) {
      process.stderr.write(`oxia-ts ${spec.name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    // The logger may not exist (bad address, unusable directory): say it plainly too.
    process.stderr.write(`oxia-ts ${spec.name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
  const { logger } = running;
  if (profiling.enabled) {
    profiler = new ProfilingHttpServer(profiling.bind, logger.child({ component: 'profiling' }));
    try {
      const bound = await profiler.listen();
      logger.info('profiling', { profileAddress: `${bound.host}:${bound.port}`, paths: ['/debug/pprof/profile?seconds=30', '/debug/pprof/allocs?seconds=30', '/debug/pprof/heap'] });
    } catch (error) {
      process.stderr.write(`oxia-ts ${spec.name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
      await running.close().catch(() => undefined);
      return EXIT_FAILURE;
    }
  }
  const watcher = reload === undefined ? undefined : watchConfigFile(reload, parseRole, running);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, exitCode: number): void => {
      watcher?.close();
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
      Promise.all([profiler?.close(), running.close()]).then(
        () => resolve(exitCode),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          logger.flush();
          resolve(EXIT_FAILURE);
        },
      );
    };
    void running.failure?.then((error) => {
      logger.error(`the ${spec.name} stopped acting`, { error: error.message });
      stop(error.message, EXIT_FAILURE);
    });
    process.on('SIGTERM', () => stop('SIGTERM', EXIT_OK));
    process.on('SIGINT', () => stop('SIGINT', EXIT_OK));
    // A bug must not leave a half-working process behind: log it, stop, fail.
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
