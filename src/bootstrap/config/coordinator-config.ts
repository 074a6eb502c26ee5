/**
 * Settings of `oxia-ts coordinator`: one table of options that the CLI and config files share,
 * one zod schema, errors naming the flag. Flags and defaults follow `oxia coordinator` where
 * Oxia has the same setting (--conf, --metadata, --file-clusters-status-path, --k8s-namespace,
 * --k8s-configmap-name, --internal-addr, --public-addr, --metrics-addr); bind addresses default
 * to loopback here, as for the other roles. The admin listener (--public-addr) takes
 * `--public-tls-*` (Oxia sets it only in its server config file, `server.public.tls`) and
 * `--authorization-policy-file` as the storage roles do.
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../../adapters/logging/pino-logger.js';
import type { LogLevel } from '../../adapters/logging/pino-logger.js';
import { parseClusterConfigLocation, type ClusterConfigLocation } from '../../adapters/cluster-config/config-location.js';
import { timingProblems, type LeaseTimings } from '../../domain/coordinator/lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { ClientTlsSettings, ServerTlsSettings } from '../../adapters/tls/tls-settings.js';
import { ConfigError, parseOptions } from './option-table.js';
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
import type { OptionSpec } from './option-table.js';
import { duration, hostPort, integer, nonEmptyText, oneOf } from './values.js';
import { ACCESS_OPTIONS, ACCESS_SHAPE, accessSettingsOf, type AccessSettings } from './access-options.js';
import { AUTH_OPTIONS, AUTH_SHAPE, authenticationSettingsOf, type AuthenticationSettings } from './auth-options.js';
import type { HostPort } from './values.js';

export const METADATA_PROVIDERS = ['file', 'configmap'] as const;
export type MetadataProvider = (typeof METADATA_PROVIDERS)[number];
export const DISCOVERY_KINDS = ['static', 'kubernetes'] as const;
export type DiscoveryKind = (typeof DISCOVERY_KINDS)[number];

export interface CoordinatorConfig extends AccessSettings {
  /** `--auth-provider-*`: authentication of the admin listener (undefined: every caller is let in). */
  readonly authentication: AuthenticationSettings | undefined;
  /** Where the cluster config is: a YAML file or a ConfigMap. */
  readonly clusterConfig: ClusterConfigLocation;
  /** Where the cluster status is kept. */
  readonly metadata: MetadataProvider;
  readonly statusFilePath: string;
  readonly k8sNamespace: string;
  readonly k8sStatusConfigMap: string;
  /** Who the storage nodes are: the config's servers, or the pods of a StatefulSet. */
  readonly discovery: DiscoveryKind;
  readonly k8sDiscoverySelector: string;
  readonly k8sDiscoveryService: string;
  /** The coordinator's own gRPC endpoint (health, for probes). */
  readonly internalAddr: HostPort;
  /** The admin API's listener (Oxia's coordinator "public" server). */
  readonly publicAddr: HostPort;
  readonly metricsAddr: HostPort;
  /** The web console's listener (ADR 0028); undefined: no console. */
  readonly consoleAddr: HostPort | undefined;
  readonly healthCheckIntervalMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly healthCheckFailureThreshold: number;
  readonly rpcTimeoutMs: number;
  /** A shard split not committed within this long is rolled back (ADR 0025). */
  readonly splitTimeoutMs: number;
  /** The coordinator lease (ADR 0023): how long it lasts, how soon its holder must renew it, how often it is tried. */
  readonly lease: LeaseTimings;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /** TLS of the internal listener (`--tls-*`, as Oxia names it for the coordinator). */
  readonly internalTls: ServerTlsSettings | undefined;
  /** TLS of the admin listener (`--public-tls-*`). */
  readonly publicTls: ServerTlsSettings | undefined;
  /** TLS of the calls to the servers' internal listeners (`--peer-tls-*`). */
  readonly peerTls: ClientTlsSettings | undefined;
  readonly metricsTls: MetricsTlsSettings | undefined;
}

export const COORDINATOR_OPTIONS = [
  { name: 'conf', short: 'f', valueName: 'file', help: 'cluster config: a YAML file, or configmap:<namespace>/<name> (its config.yaml key); edits are followed', default: undefined },
  { name: 'metadata', valueName: 'provider', help: `where the cluster status is kept: ${METADATA_PROVIDERS.join(' | ')}`, default: 'file' },
  {
    name: 'file-clusters-status-path',
    valueName: 'path',
    help: 'cluster status file (--metadata file); the coordinator lease is kept beside it, in <path>.lease/',
    default: 'data/cluster-status.json',
  },
  { name: 'k8s-namespace', valueName: 'namespace', help: 'Kubernetes namespace of the status ConfigMap and of the storage pods', default: 'default' },
  {
    name: 'k8s-configmap-name',
    valueName: 'name',
    help: 'ConfigMap holding the cluster status (--metadata configmap); the coordinator lease is the Lease of the same name',
    default: 'oxia-cluster-status',
  },
  { name: 'discovery', valueName: 'kind', help: `how storage nodes are found: ${DISCOVERY_KINDS.join(' | ')} (static: the config's servers)`, default: 'static' },
  { name: 'k8s-discovery-selector', valueName: 'labels', help: 'label selector of the storage pods (--discovery kubernetes)', default: 'app.kubernetes.io/component=server' },
  { name: 'k8s-discovery-service', valueName: 'name', help: 'headless Service of the storage StatefulSet (--discovery kubernetes)', default: 'oxia-server' },
  { name: 'internal-addr', short: 'i', valueName: 'host:port', help: 'internal gRPC address (health) to listen on (port 0: any free port)', default: '127.0.0.1:6649' },
  { name: 'public-addr', short: 'p', valueName: 'host:port', help: 'admin API (OxiaAdmin) address to listen on (port 0: any free port)', default: '127.0.0.1:6651' },
  {
    name: 'console-addr',
    valueName: 'host:port',
    help: 'serve the web console here (HTTPS with the --public-tls-* settings, same authentication; port 0: any free port); off when not given',
    default: undefined,
  },
  { name: 'metrics-addr', short: 'm', valueName: 'host:port', help: 'address of the Prometheus /metrics endpoint (port 0: any free port)', default: '127.0.0.1:8080' },
  { name: 'health-check-interval', valueName: 'duration', help: 'how often each storage node is probed (a probe does not wait for the previous one)', default: '200ms' },
  { name: 'health-check-timeout', valueName: 'duration', help: 'a node that leaves a probe unanswered this long (and answered none sent after it) is down', default: '1200ms' },
  { name: 'health-check-failure-threshold', valueName: 'count', help: 'consecutive probes failing with an error (connection refused) after which a node is down', default: '3' },
  { name: 'rpc-timeout', valueName: 'duration', help: 'bound on each call to a storage node', default: '30s' },
  { name: 'split-timeout', valueName: 'duration', help: 'a shard split not committed within this long is rolled back (the parent keeps serving)', default: '5m' },
  {
    name: 'lease-duration',
    valueName: 'duration',
    help: 'coordinator lease: how long standby coordinators wait after its last renewal before one takes over (whole seconds with --metadata configmap)',
    default: '3s',
  },
  { name: 'lease-renew-deadline', valueName: 'duration', help: 'coordinator lease: the active coordinator stops acting when it could not renew the lease for this long', default: '2s' },
  { name: 'lease-retry-period', valueName: 'duration', help: 'coordinator lease: between renewals, and between reads of a standby', default: '500ms' },
  { name: 'log-level', short: 'l', valueName: 'level', help: `log level: ${LOG_LEVELS.join(' | ')}`, default: 'info' },
  { name: 'shutdown-timeout', valueName: 'duration', help: 'how long a graceful shutdown may take', default: '10s' },
  ...listenerTlsOptions('', 'internal gRPC listener'),
  ...listenerTlsOptions('public-', 'admin listener (--public-addr)'),
  ...PEER_TLS_OPTIONS,
  ...METRICS_TLS_OPTIONS,
  ...ACCESS_OPTIONS,
  ...AUTH_OPTIONS,
] as const satisfies readonly OptionSpec[];

export type CoordinatorOptionName = (typeof COORDINATOR_OPTIONS)[number]['name'];
export type CoordinatorRawOptions = Partial<Record<CoordinatorOptionName, unknown>>;

const schema = z.strictObject({
  conf: nonEmptyText,
  metadata: oneOf(METADATA_PROVIDERS),
  'file-clusters-status-path': nonEmptyText,
  'k8s-namespace': nonEmptyText,
  'k8s-configmap-name': nonEmptyText,
  discovery: oneOf(DISCOVERY_KINDS),
  'k8s-discovery-selector': nonEmptyText,
  'k8s-discovery-service': nonEmptyText,
  'internal-addr': hostPort,
  'public-addr': hostPort,
  'metrics-addr': hostPort,
  'console-addr': hostPort.optional(),
  'health-check-interval': duration(10),
  'health-check-timeout': duration(10),
  'health-check-failure-threshold': integer(1, 1000),
  'rpc-timeout': duration(100),
  'split-timeout': duration(100),
  'lease-duration': duration(100),
  'lease-renew-deadline': duration(50),
  'lease-retry-period': duration(10),
  'log-level': oneOf(LOG_LEVELS),
  'shutdown-timeout': duration(0),
  ...listenerTlsShape(''),
  ...listenerTlsShape('public-'),
  ...PEER_TLS_SHAPE,
  ...METRICS_TLS_SHAPE,
  ...ACCESS_SHAPE,
  ...AUTH_SHAPE,
});

/** Validates raw values (defaults fill what is missing) into a CoordinatorConfig, or throws ConfigError. */
export function parseCoordinatorConfig(raw: CoordinatorRawOptions): CoordinatorConfig {
  const o = parseOptions(COORDINATOR_OPTIONS, schema, raw, (name) =>
    name === 'conf' && raw.conf === undefined ? '--conf: a cluster config file or configmap:<namespace>/<name> is required' : undefined,
  );
  let clusterConfig: ClusterConfigLocation;
  try {
    clusterConfig = parseClusterConfigLocation(o.conf);
  } catch (e) {
    if (e instanceof OxiaError) throw new ConfigError([e.message]);
    throw e;
  }
  const problems: string[] = [];
  const lease: LeaseTimings = { durationMs: o['lease-duration'], renewDeadlineMs: o['lease-renew-deadline'], retryPeriodMs: o['lease-retry-period'] };
  for (const p of timingProblems(lease)) problems.push(`--lease-duration, --lease-renew-deadline, --lease-retry-period: ${p}`);
  if (o.metadata === 'configmap' && lease.durationMs % 1000 !== 0) {
    problems.push(`--lease-duration: a Kubernetes Lease counts whole seconds, got ${lease.durationMs} ms`);
  }
  const internalTls = listenerTlsSettingsOf(o, '', problems);
  const publicTls = listenerTlsSettingsOf(o, 'public-', problems);
  const peerTls = peerTlsSettingsOf(o, problems);
  const metricsTls = metricsTlsSettingsOf(o, problems);
  const authentication = authenticationSettingsOf(o, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...accessSettingsOf(o),
    authentication,
    internalTls,
    publicTls,
    peerTls,
    metricsTls,
    clusterConfig,
    metadata: o.metadata,
    statusFilePath: o['file-clusters-status-path'],
    k8sNamespace: o['k8s-namespace'],
    k8sStatusConfigMap: o['k8s-configmap-name'],
    discovery: o.discovery,
    k8sDiscoverySelector: o['k8s-discovery-selector'],
    k8sDiscoveryService: o['k8s-discovery-service'],
    internalAddr: o['internal-addr'],
    publicAddr: o['public-addr'],
    metricsAddr: o['metrics-addr'],
    consoleAddr: o['console-addr'],
    healthCheckIntervalMs: o['health-check-interval'],
    healthCheckTimeoutMs: o['health-check-timeout'],
    healthCheckFailureThreshold: o['health-check-failure-threshold'],
    rpcTimeoutMs: o['rpc-timeout'],
    splitTimeoutMs: o['split-timeout'],
    lease,
    logLevel: o['log-level'],
    shutdownTimeoutMs: o['shutdown-timeout'],
  };
}
