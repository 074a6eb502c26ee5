/**
 * `oxia-ts server`: a storage node of a replicated cluster. Flags from SERVER_OPTIONS
 * (so help, config files and validation agree), start, serve until SIGTERM/SIGINT,
 * stop cleanly, exit 0. The coordinator (`oxia-ts coordinator`) assigns it shards.
 */
import type { Command } from 'commander';
import { parseServerConfig, SERVER_OPTIONS } from '../config/server-config.js';
import type { ServerRawOptions } from '../config/server-config.js';
import { LIVE_STORAGE_OPTIONS } from '../roles/live-reconfiguration.js';
import { daemonCommand } from './daemon.js';
import type { CommandOutcome } from './daemon.js';

export function serverCommand(outcome: CommandOutcome): Command {
  return daemonCommand(
    {
      name: 'server',
      description: 'run a storage node of a replicated cluster (shards are assigned by the coordinator)',
      options: SERVER_OPTIONS,
      parse: (raw) => parseServerConfig(raw as ServerRawOptions),
      start: async (config) => (await import('../roles/server.js')).startServer(config),
      liveOptions: LIVE_STORAGE_OPTIONS,
    },
    outcome,
  );
}
