/**
 * Settings of `oxia-ts server` (a storage node of a replicated cluster): one table of
 * options that the CLI and config files share, one zod schema, errors naming the flag.
 * The storage settings it shares with `oxia-ts standalone` come from storage-options.ts.
 * Flags and defaults follow `oxia server` where Oxia has the same setting (bind
 * addresses default to loopback here: listening on every interface is a choice).
 */
import type { ClientTlsSettings, ServerTlsSettings } from '../../adapters/tls/tls-settings.js';
import type { ReplicaIntegritySettings } from '../../application/shard/replica-controller.js';
import { DEFAULT_DIGEST_CHECKPOINT_ENTRIES } from '../../domain/integrity/index.js';
import { ACCESS_OPTIONS, ACCESS_SHAPE, accessSettingsOf } from './access-options.js';
import type { AccessSettings } from './access-options.js';
import { AUTH_OPTIONS, AUTH_SHAPE, authenticationSettingsOf, type AuthenticationSettings } from './auth-options.js';
import { ConfigError, parseOptions } from './option-table.js';
import type { OptionSpec } from './option-table.js';
import { STORAGE_OPTIONS, storageRoleSchema, storageSettingsOf } from './storage-options.js';
import type { StorageSettings } from './storage-options.js';
import {
  listenerTlsOptions,
  listenerTlsSettingsOf,
  listenerTlsShape,
  METRICS_TLS_OPTIONS,
  METRICS_TLS_SHAPE,
  metricsTlsSettingsOf,
  PEER_TLS_OPTIONS,
  PEER_TLS_SHAPE,
  peerTlsSettingsOf,
  type MetricsTlsSettings,
} from './tls-options.js';
import { duration, hostPort, integer } from './values.js';
import type { HostPort } from './values.js';

export interface ServerConfig extends StorageSettings, AccessSettings {
  /** The client API (OxiaClient). */
  readonly publicAddr: HostPort;
  /** Coordination and replication (OxiaCoordination, OxiaLogReplication). */
  readonly internalAddr: HostPort;
  readonly metricsAddr: HostPort;
  /** TLS of the public listener (`--tls-*`); plaintext when absent. */
  readonly publicTls: ServerTlsSettings | undefined;
  /** TLS of the internal listener (`--internal-tls-*`). */
  readonly internalTls: ServerTlsSettings | undefined;
  /** TLS of this server's calls to other servers' internal listeners (replication, `--peer-tls-*`). */
  readonly peerTls: ClientTlsSettings | undefined;
  readonly metricsTls: MetricsTlsSettings | undefined;
  /** Who may call the public port (`--auth-provider-*`); undefined: anyone. */
  readonly authentication: AuthenticationSettings | undefined;
  /** The integrity checks across replicas (`--state-digest-*`, ADR 0031). */
  readonly integrity: ReplicaIntegritySettings;
}

export const SERVER_OPTIONS = [
  { name: 'public-addr', short: 'p', valueName: 'host:port', help: 'public gRPC address (client API) to listen on (port 0: any free port)', default: '127.0.0.1:6648' },
  { name: 'internal-addr', short: 'i', valueName: 'host:port', help: 'internal gRPC address (coordination and replication) to listen on (port 0: any free port)', default: '127.0.0.1:6649' },
  { name: 'metrics-addr', short: 'm', valueName: 'host:port', help: 'address of the Prometheus /metrics endpoint (port 0: any free port)', default: '127.0.0.1:8080' },
  ...STORAGE_OPTIONS,
  {
    name: 'state-digest-checkpoint-entries',
    valueName: 'count',
    help: "entries between the state digests a follower compares with its leader's (a differing follower is rebuilt from a snapshot; 0: no comparison)",
    default: String(DEFAULT_DIGEST_CHECKPOINT_ENTRIES),
  },
  {
    name: 'state-digest-scan-interval',
    valueName: 'duration',
    help: "how often each shard's store is scanned, while it runs, against the digest it recorded (a frozen view: a copy of the file on SQLite; 0s: only when the shard opens)",
    default: '0s',
  },
  ...listenerTlsOptions('', 'public gRPC listener'),
  ...listenerTlsOptions('internal-', 'internal gRPC listener'),
  ...PEER_TLS_OPTIONS,
  ...METRICS_TLS_OPTIONS,
  ...ACCESS_OPTIONS,
  ...AUTH_OPTIONS,
] as const satisfies readonly OptionSpec[];

export type ServerOptionName = (typeof SERVER_OPTIONS)[number]['name'];
export type ServerRawOptions = Partial<Record<ServerOptionName, unknown>>;

const schema = storageRoleSchema({
    'public-addr': hostPort,
    'internal-addr': hostPort,
    'metrics-addr': hostPort,
    'state-digest-checkpoint-entries': integer(0, 2 ** 30),
    'state-digest-scan-interval': duration(0),
    ...listenerTlsShape(''),
    ...listenerTlsShape('internal-'),
    ...PEER_TLS_SHAPE,
    ...METRICS_TLS_SHAPE,
    ...ACCESS_SHAPE,
    ...AUTH_SHAPE,
});

/** Validates raw values (defaults fill what is missing) into a ServerConfig, or throws ConfigError. */
export function parseServerConfig(raw: ServerRawOptions): ServerConfig {
  const o = parseOptions(SERVER_OPTIONS, schema, raw);
  const problems: string[] = [];
  const publicTls = listenerTlsSettingsOf(o, '', problems);
  const internalTls = listenerTlsSettingsOf(o, 'internal-', problems);
  const peerTls = peerTlsSettingsOf(o, problems);
  const metricsTls = metricsTlsSettingsOf(o, problems);
  const authentication = authenticationSettingsOf(o, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    publicTls,
    internalTls,
    peerTls,
    metricsTls,
    authentication,
    publicAddr: o['public-addr'],
    internalAddr: o['internal-addr'],
    metricsAddr: o['metrics-addr'],
    integrity: { digestCheckpointEntries: o['state-digest-checkpoint-entries'], storeScanIntervalMs: o['state-digest-scan-interval'] },
    ...storageSettingsOf(o),
    ...accessSettingsOf(o),
  };
}
