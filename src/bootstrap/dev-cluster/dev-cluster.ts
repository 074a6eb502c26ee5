/**
 * A whole cluster on this machine for developers and users: N `oxia-ts server` processes and
 * one `oxia-ts coordinator`, on loopback, everything under one folder:
 *
 *   <dir>/cluster.yaml           the cluster config (servers rewritten at each start; the
 *                                namespaces are yours to edit, also while it runs)
 *   <dir>/cluster-status.json    the coordinator's cluster status
 *   <dir>/node-<i>/{db,wal}      each storage node's data
 *   <dir>/<process>.log          each process's log
 *   <dir>/secure/                with --secure: the CA, certificates, token key and token
 *                                (secure-cluster.ts)
 *
 * Node i listens on base+10i (public), base+10i+1 (internal), base+10i+2 (metrics); the
 * coordinator on base+10n+1, base+10n+2 and base+10n+3, and its web console on base+4 (6652 with the
 * default base). Base port 0 takes free ports: the nodes are named
 * (node-0, ...), so the coordinator follows them to new ports across restarts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, credentials, Metadata, status as GrpcCode, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { parseDocument } from 'yaml';
import { OxiaClientService } from '../../adapters/grpc-protocol/service-definitions.js';
import type { ShardAssignments } from '../../domain/wire/client.js';
import { launchRole, type Exit, type RoleProcess } from './role-process.js';
import type { SecureCluster } from './secure-cluster.js';

export interface DevClusterOptions {
  readonly dir: string;
  readonly nodes: number;
  /** Of the "default" namespace, when the folder has no cluster.yaml yet. */
  readonly shards: number;
  readonly replicationFactor: number;
  /** 0: any free ports. */
  readonly basePort: number;
  readonly kv: 'sqlite' | 'level';
  readonly logLevel: string;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** TLS on every port, mutual TLS on the internal ones, tokens on the public ones. */
  readonly secure?: boolean | undefined;
}

export interface RunningDevCluster {
  /** Where clients connect (any node serves the shard assignments). */
  readonly clientAddress: string;
  readonly nodes: readonly RoleProcess[];
  readonly coordinator: RoleProcess;
  readonly configPath: string;
  /** The files and flags of a --secure cluster. */
  readonly secure: SecureCluster | undefined;
  /** Resolves when any of the processes exits on its own. */
  readonly firstExit: Promise<{ readonly name: string; readonly exit: Exit }>;
  /** Stops the coordinator, then the nodes; resolves once all have exited. Idempotent. */
  stop(): Promise<void>;
}

interface NodeListing {
  readonly name: string;
  readonly public: string;
  readonly internal: string;
}

const port = (base: number, offset: number): number => (base === 0 ? 0 : base + offset);

export async function startDevCluster(options: DevClusterOptions): Promise<RunningDevCluster> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const started: RoleProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // The coordinator first, so that it does not elect around nodes that are only stopping.
    for (const group of [started.filter((p) => p.name === 'coordinator'), started.filter((p) => p.name !== 'coordinator')]) {
      await Promise.all(group.map((p) => p.stop(options.stopTimeoutMs)));
    }
  };

  try {
    // Loaded only when asked for: certificate making brings its own libraries.
    const secure = options.secure ? await (await import('./secure-cluster.js')).prepareSecureCluster(dir) : undefined;
    const nodes = await Promise.all(
      Array.from({ length: options.nodes }, async (_, i) => {
        const name = `node-${i}`;
        const p = await launchRole({
          name,
          args: [
            'server',
            '--public-addr', `127.0.0.1:${port(options.basePort, 10 * i)}`,
            '--internal-addr', `127.0.0.1:${port(options.basePort, 10 * i + 1)}`,
            '--metrics-addr', `127.0.0.1:${port(options.basePort, 10 * i + 2)}`,
            '--data-dir', join(dir, name, 'db'),
            '--wal-dir', join(dir, name, 'wal'),
            '--kv', options.kv,
            '--log-level', options.logLevel,
            ...(secure?.serverArgs() ?? []),
          ],
          logFile: join(dir, `${name}.log`),
          startTimeoutMs: options.startTimeoutMs,
        });
        started.push(p);
        return p;
      }),
    );
    const listing: NodeListing[] = nodes.map((n) => ({ name: n.name, public: String(n.serving.publicAddress), internal: String(n.serving.internalAddress) }));
    const configPath = join(dir, 'cluster.yaml');
    writeClusterConfig(configPath, listing, options);

    const coordinatorPorts = 10 * options.nodes;
    const coordinator = await launchRole({
      name: 'coordinator',
      args: [
        'coordinator',
        '--conf', configPath,
        '--file-clusters-status-path', join(dir, 'cluster-status.json'),
        '--internal-addr', `127.0.0.1:${port(options.basePort, coordinatorPorts + 1)}`,
        '--metrics-addr', `127.0.0.1:${port(options.basePort, coordinatorPorts + 2)}`,
        '--public-addr', `127.0.0.1:${port(options.basePort, coordinatorPorts + 3)}`,
        // The web console (ADR 0028) on base+4, 6652 by default: a port no node uses.
        '--console-addr', `127.0.0.1:${port(options.basePort, 4)}`,
        '--log-level', options.logLevel,
        ...(secure?.coordinatorArgs() ?? []),
      ],
      logFile: join(dir, 'coordinator.log'),
      startTimeoutMs: options.startTimeoutMs,
    });
    started.push(coordinator);

    const clientAddress = listing[0]!.public;
    await waitForLeaders(clientAddress, namespacesOf(configPath), new Set(listing.map((n) => n.public)), options.startTimeoutMs, callerOf(secure));

    let stopping: Promise<void> | undefined;
    return {
      clientAddress,
      nodes,
      coordinator,
      configPath,
      secure,
      firstExit: Promise.race(started.map((p) => p.exited.then((exit) => ({ name: p.name, exit })))),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Keeps the namespaces of an existing config (the user's), rewrites the servers. */
function writeClusterConfig(path: string, nodes: readonly NodeListing[], options: DevClusterOptions): void {
  const doc = existsSync(path)
    ? parseDocument(readFileSync(path, 'utf8'))
    : parseDocument(
        [
          '# The cluster config of `oxia-ts cluster`. Namespaces may be edited, also while the',
          '# cluster runs; the servers are rewritten at each start.',
          'namespaces:',
          '  - name: default',
          `    initialShardCount: ${options.shards}`,
          `    replicationFactor: ${Math.min(options.replicationFactor, options.nodes)}`,
          '',
        ].join('\n'),
      );
  if (doc.errors.length > 0) throw new Error(`${path} is not valid YAML: ${doc.errors[0]!.message}`);
  doc.set('servers', nodes.map((n) => ({ name: n.name, public: n.public, internal: n.internal })));
  const temp = `${path}.tmp`;
  writeFileSync(temp, doc.toString());
  renameSync(temp, path);
}

function namespacesOf(configPath: string): string[] {
  const raw = parseDocument(readFileSync(configPath, 'utf8')).toJS() as { namespaces?: { name?: unknown }[] } | null;
  return (raw?.namespaces ?? []).map((n) => String(n.name));
}

/** How this process calls a public port: plaintext, or TLS with the cluster's CA and token. */
interface Caller {
  readonly credentials: ChannelCredentials;
  readonly options: ChannelOptions;
  readonly metadata: () => Metadata;
}

function callerOf(secure: SecureCluster | undefined): Caller {
  if (secure === undefined) return { credentials: credentials.createInsecure(), options: {}, metadata: () => new Metadata() };
  return {
    credentials: credentials.createSsl(readFileSync(secure.caFile)),
    options: { 'grpc.ssl_target_name_override': secure.serverName },
    metadata: () => {
      const m = new Metadata();
      m.set('authorization', `Bearer ${secure.token}`);
      return m;
    },
  };
}

/**
 * Waits until `address` hands out assignments in which every shard of every namespace is led by
 * one of this run's nodes (a status from an earlier run may still name old addresses).
 */
async function waitForLeaders(address: string, namespaces: readonly string[], leaders: ReadonlySet<string>, timeoutMs: number, caller: Caller): Promise<void> {
  const client = new Client(address, caller.credentials, caller.options);
  const deadline = Date.now() + timeoutMs;
  try {
    for (const namespace of namespaces) {
      for (;;) {
        if (Date.now() > deadline) throw new Error(`the shards of namespace ${namespace} got no leaders within ${timeoutMs} ms`);
        if (await allLed(client, namespace, leaders, Math.max(100, deadline - Date.now()), caller.metadata())) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.close();
  }
}

function allLed(client: Client, namespace: string, leaders: ReadonlySet<string>, timeoutMs: number, metadata: Metadata): Promise<boolean> {
  const def = OxiaClientService.getShardAssignments;
  return new Promise<boolean>((resolve) => {
    const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, { namespace }, metadata, {
      deadline: Date.now() + timeoutMs,
    });
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      call.cancel();
      resolve(ok);
    };
    call.on('data', (a: ShardAssignments) => {
      const shards = a.namespaces[namespace]?.assignments ?? [];
      if (shards.length > 0 && shards.every((s) => leaders.has(s.leader))) finish(true);
    });
    call.on('error', (e: { code?: number }) => finish(e.code === GrpcCode.CANCELLED && done));
    call.on('end', () => finish(false));
  });
}
