/**
 * `oxia-ts cluster`: a local replicated cluster in one command, for development and trying
 * things out: N storage nodes and a coordinator on loopback with their data under --dir
 * (see dev-cluster/dev-cluster.ts). Prints the address clients connect to; SIGINT (Ctrl-C) or
 * SIGTERM stops every process cleanly, coordinator first. Running it again on the same folder
 * continues with the same data. With --secure every port is on TLS (a local CA made under --dir),
 * the internal ones on mutual TLS, and the public ones want a token, which is printed with the
 * command line that uses it.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../config/option-table.js';
import { integer, nonEmptyText, oneOf } from '../config/values.js';
import { LOG_LEVELS } from '../../adapters/logging/pino-logger.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';
import type { SecureCluster } from '../dev-cluster/secure-cluster.js';

const schema = z.object({
  dir: nonEmptyText,
  nodes: integer(1, 9),
  shards: integer(1, 1024),
  replicationFactor: integer(1, 9),
  basePort: integer(0, 65000),
  kv: oneOf(['sqlite', 'level'] as const),
  logLevel: oneOf(LOG_LEVELS),
  secure: z.boolean().default(false),
});

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

export function clusterCommand(outcome: CommandOutcome): Command {
  return new Command('cluster')
    .description('run a local cluster (storage nodes and a coordinator on loopback) for development; Ctrl-C stops it')
    .addOption(new Option('-d, --dir <dir>', 'folder of the cluster config, status, data and logs').default('./data/cluster'))
    .addOption(new Option('-n, --nodes <count>', 'storage nodes (1 to 9)').default('3'))
    .addOption(new Option('-s, --shards <count>', 'shards of the "default" namespace of a new cluster').default('3'))
    .addOption(new Option('-r, --replication-factor <count>', 'replicas of each shard of a new cluster (at most --nodes)').default('3'))
    .addOption(new Option('-b, --base-port <port>', 'node i uses base+10i (public), +1 (internal), +2 (metrics); 0: any free ports').default('6648'))
    .addOption(new Option('--kv <backend>', 'key-value store backend: sqlite | level').default('sqlite'))
    .addOption(new Option('-l, --log-level <level>', `log level of the processes: ${LOG_LEVELS.join(' | ')}`).default('info'))
    .addOption(new Option('--secure', 'TLS on every port (a local CA under --dir), mutual TLS inside, OIDC tokens on the public ports; prints a token'))
    .action(async (raw: Record<string, unknown>) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
        process.stderr.write(`oxia-ts cluster: ${new ConfigError(problems).message}\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      outcome.exitCode = await runUntilStopped(parsed.data);
    });
}

/** What a user of a --secure cluster needs: where the files are, the token, a command that works. */
function secureLines(address: string, secure: SecureCluster | undefined): string[] {
  if (secure === undefined) return [];
  return [
    `  secure: TLS on every port (CA ${secure.caFile}), mutual TLS on the internal ports (client certificate ${secure.client.certFile}), tokens on the public ports`,
    `  token (user ${secure.user}, until ${secure.tokenExpiresAt.toISOString()}; also in ${secure.tokenFile}):`,
    `    ${secure.token}`,
    `  try: ${['npx', 'oxia-ts', 'client', '-a', address, ...secure.clientArgs(), 'put', '/hello', 'world'].map(shellQuoted).join(' ')}`,
    `  console: log in with that token (the browser has to trust ${secure.caFile}, or be told to go on)`,
  ];
}

function shellQuoted(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

async function runUntilStopped(o: z.output<typeof schema>): Promise<number> {
  const { startDevCluster } = await import('../dev-cluster/dev-cluster.js');
  process.stdout.write(`oxia-ts cluster: starting ${o.nodes} nodes and a coordinator in ${o.dir} ...\n`);
  let cluster;
  try {
    cluster = await startDevCluster({
      dir: o.dir,
      nodes: o.nodes,
      shards: o.shards,
      replicationFactor: o.replicationFactor,
      basePort: o.basePort,
      kv: o.kv,
      logLevel: o.logLevel,
      secure: o.secure,
      startTimeoutMs: START_TIMEOUT_MS,
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });
  } catch (error) {
    process.stderr.write(`oxia-ts cluster: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
  const lines = [
    `oxia-ts cluster: ready; clients connect to ${cluster.clientAddress}`,
    ...cluster.nodes.map((n) => `  ${n.name}: public ${String(n.serving.publicAddress)}, internal ${String(n.serving.internalAddress)}, metrics ${String(n.serving.metricsAddress)}`),
    `  coordinator: internal ${String(cluster.coordinator.serving.internalAddress)}, metrics ${String(cluster.coordinator.serving.metricsAddress)}`,
    `  console: ${String(cluster.coordinator.serving.consoleUrl)} (servers, shards, elections, keys; live)`,
    `  config ${cluster.configPath} (namespaces may be edited while it runs); logs in ${o.dir}`,
    ...secureLines(cluster.clientAddress, cluster.secure),
    '  Ctrl-C stops the cluster',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`oxia-ts cluster: ${why}; stopping ...\n`);
      cluster.stop().then(
        () => {
          process.stdout.write('oxia-ts cluster: stopped\n');
          resolveExit(EXIT_OK);
        },
        (error: unknown) => {
          process.stderr.write(`oxia-ts cluster: stopping failed: ${String(error)}\n`);
          resolveExit(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // A process dying on its own is worth knowing about; the others keep running (the cluster
    // tolerates it: that may be what is being tried out).
    void cluster.firstExit.then(({ name, exit }) => {
      if (!stopping) process.stderr.write(`oxia-ts cluster: ${name} exited (code ${exit.code}, signal ${exit.signal}); see its log\n`);
    });
  });
}
