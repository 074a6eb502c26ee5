/**
 * Settings of `oxia-ts standalone`: one table of options (flag, default, help) that
 * both the CLI and config files use, one zod schema that validates and converts the
 * raw values, and errors that name the offending flag. The storage settings it shares
 * with `oxia-ts server` come from storage-options.ts.
 *
 * Flags and defaults follow `oxia standalone` where Oxia has the same setting.
 */
import type { KeySorting } from '../../domain/sharding/namespace.js';
import type { ServerTlsSettings } from '../../adapters/tls/tls-settings.js';
import { ACCESS_OPTIONS, ACCESS_SHAPE, accessSettingsOf } from './access-options.js';
import type { AccessSettings } from './access-options.js';
import { AUTH_OPTIONS, AUTH_SHAPE, authenticationSettingsOf, type AuthenticationSettings } from './auth-options.js';
import { ConfigError, parseOptions } from './option-table.js';
import type { OptionSpec } from './option-table.js';
import { STORAGE_OPTIONS, storageRoleSchema, storageSettingsOf } from './storage-options.js';
import type { StorageSettings } from './storage-options.js';
import { listenerTlsOptions, listenerTlsSettingsOf, listenerTlsShape, METRICS_TLS_OPTIONS, METRICS_TLS_SHAPE, metricsTlsSettingsOf, type MetricsTlsSettings } from './tls-options.js';
import { boolean, hostPort, integer, nonEmptyText, oneOf } from './values.js';
import type { HostPort } from './values.js';

export const KEY_SORTINGS = ['hierarchical', 'natural'] as const satisfies readonly KeySorting[];

/** A bound on shards per node; each shard holds open files and a controller. */
export const SHARDS_MAX = 1024;

/** The validated settings. */
export interface StandaloneConfig extends StorageSettings, AccessSettings {
  readonly shards: number;
  readonly publicAddr: HostPort;
  /** What clients are told to connect to (the leader in assignments); derived from the bound address when absent. */
  readonly advertisedAddr: string | undefined;
  readonly metricsAddr: HostPort;
  readonly keySorting: KeySorting;
  readonly notificationsEnabled: boolean;
  /** TLS of the public listener (`--tls-*`, our extension: Oxia's standalone has none). */
  readonly publicTls: ServerTlsSettings | undefined;
  readonly metricsTls: MetricsTlsSettings | undefined;
  /** Who may call the public port (`--auth-provider-*`); undefined: anyone. */
  readonly authentication: AuthenticationSettings | undefined;
}

export const STANDALONE_OPTIONS = [
  { name: 'shards', short: 's', valueName: 'count', help: `number of shards of the "default" namespace (1 to ${SHARDS_MAX})`, default: '1' },
  { name: 'public-addr', short: 'p', valueName: 'host:port', help: 'public gRPC address to listen on (port 0: any free port)', default: '127.0.0.1:6648' },
  { name: 'advertised-addr', valueName: 'host:port', help: 'address given to clients as shard leader (default: the bound public address)', default: undefined },
  { name: 'metrics-addr', short: 'm', valueName: 'host:port', help: 'address of the Prometheus /metrics endpoint (port 0: any free port)', default: '127.0.0.1:8080' },
  { name: 'key-sorting', valueName: 'order', help: `key order of the namespace: ${KEY_SORTINGS.join(' | ')}`, default: 'hierarchical' },
  { name: 'notifications-enabled', help: 'record change notifications for clients', default: 'true' },
  ...STORAGE_OPTIONS,
  ...listenerTlsOptions('', 'public gRPC listener'),
  ...METRICS_TLS_OPTIONS,
  ...ACCESS_OPTIONS,
  ...AUTH_OPTIONS,
] as const satisfies readonly OptionSpec[];

export type StandaloneOptionName = (typeof STANDALONE_OPTIONS)[number]['name'];
/** Raw values by option name, as the CLI or a config file gives them. */
export type RawOptions = Partial<Record<StandaloneOptionName, unknown>>;

const schema = storageRoleSchema({
    shards: integer(1, SHARDS_MAX),
    'public-addr': hostPort,
    'advertised-addr': nonEmptyText.optional(),
    'metrics-addr': hostPort,
    'key-sorting': oneOf(KEY_SORTINGS),
    'notifications-enabled': boolean,
    ...listenerTlsShape(''),
    ...METRICS_TLS_SHAPE,
    ...ACCESS_SHAPE,
    ...AUTH_SHAPE,
});

/** Validates raw values (defaults fill what is missing) into a StandaloneConfig, or throws ConfigError. */
export function parseStandaloneConfig(raw: RawOptions): StandaloneConfig {
  const o = parseOptions(STANDALONE_OPTIONS, schema, raw);
  const problems: string[] = [];
  const publicTls = listenerTlsSettingsOf(o, '', problems);
  const metricsTls = metricsTlsSettingsOf(o, problems);
  const authentication = authenticationSettingsOf(o, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    publicTls,
    metricsTls,
    authentication,
    shards: o.shards,
    publicAddr: o['public-addr'],
    advertisedAddr: o['advertised-addr'],
    metricsAddr: o['metrics-addr'],
    keySorting: o['key-sorting'],
    notificationsEnabled: o['notifications-enabled'],
    ...storageSettingsOf(o),
    ...accessSettingsOf(o),
  };
}
