/**
 * `oxia-ts coordinator`: the coordinator of a replicated cluster. Flags from
 * COORDINATOR_OPTIONS (so help, config files and validation agree); runs until SIGTERM/SIGINT
 * (exit 0 after a clean stop), or until it finds that another coordinator wrote the cluster
 * status (exit 1: it stops acting at once and never overwrites the other's decisions).
 */
import type { Command } from 'commander';
import { COORDINATOR_OPTIONS, parseCoordinatorConfig } from '../config/coordinator-config.js';
import type { CoordinatorRawOptions } from '../config/coordinator-config.js';
import { LIVE_LOGGING_OPTIONS } from '../roles/live-reconfiguration.js';
import { daemonCommand } from './daemon.js';
import type { CommandOutcome } from './daemon.js';

export function coordinatorCommand(outcome: CommandOutcome): Command {
  return daemonCommand(
    {
      name: 'coordinator',
      description: 'run the coordinator of a replicated cluster (elections, health checks, shard placement)',
      options: COORDINATOR_OPTIONS,
      parse: (raw) => parseCoordinatorConfig(raw as CoordinatorRawOptions),
      start: async (config) => (await import('../roles/coordinator.js')).startCoordinator(config),
      liveOptions: LIVE_LOGGING_OPTIONS,
    },
    outcome,
  );
}
