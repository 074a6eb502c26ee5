/**
 * `oxia-ts standalone`: flags from STANDALONE_OPTIONS (so help, config files and
 * validation agree), start, serve until SIGTERM/SIGINT, stop cleanly, exit 0.
 */
import type { Command } from 'commander';
import { parseStandaloneConfig, STANDALONE_OPTIONS } from '../config/standalone-config.js';
import type { RawOptions } from '../config/standalone-config.js';
import { LIVE_STORAGE_OPTIONS } from '../roles/live-reconfiguration.js';
import { daemonCommand } from './daemon.js';
import type { CommandOutcome } from './daemon.js';

export type { CommandOutcome } from './daemon.js';

export function standaloneCommand(outcome: CommandOutcome): Command {
  return daemonCommand(
    {
      name: 'standalone',
      description: 'run a standalone server: every shard of the "default" namespace in this one process',
      options: STANDALONE_OPTIONS,
      parse: (raw) => parseStandaloneConfig(raw as RawOptions),
      start: async (config) => (await import('../roles/standalone.js')).startStandalone(config),
      liveOptions: LIVE_STORAGE_OPTIONS,
    },
    outcome,
  );
}
