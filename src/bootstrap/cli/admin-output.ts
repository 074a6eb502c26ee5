/**
 * What `oxia-ts admin` prints, as `oxia admin` does: a table by default (NAME, PUBLIC, ... in
 * columns two spaces apart), or the messages as JSON (field names as protobuf's, snake_case)
 * or YAML (the config file's camelCase names) with `-o json|yaml`.
 */
import { stringify as toYaml } from 'yaml';
import type { DataServerView, NamespaceView } from '../../domain/wire/admin.js';
import { DataServerState, ShardStatus, type DataServer, type DataServerIdentity, type Namespace, type NamespaceStatus, type ShardMetadata } from '../../domain/wire/metadata.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

type Naming = 'snake' | 'camel';
type Plain = string | number | boolean | Plain[] | { [key: string]: Plain };

function name(snake: string, naming: Naming): string {
  return naming === 'snake' ? snake : snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Go's omitempty: zero values, empty lists and empty objects are left out. */
function object(entries: [string, Plain | undefined][], naming: Naming): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {};
  for (const [key, value] of entries) {
    if (value === undefined || value === '' || value === 0 || value === false) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    out[name(key, naming)] = value;
  }
  return out;
}

function identity(i: DataServerIdentity | undefined, naming: Naming): Plain | undefined {
  return i ? object([['name', i.name], ['public', i.public], ['internal', i.internal]], naming) : undefined;
}

export function dataServerPlain(d: DataServer | undefined, naming: Naming): Plain | undefined {
  if (!d) return undefined;
  return object([['identity', identity(d.identity, naming)], ['metadata', d.metadata ? object([['labels', { ...d.metadata.labels }]], naming) : undefined]], naming);
}

export function namespacePlain(n: Namespace | undefined, naming: Naming): Plain | undefined {
  if (!n) return undefined;
  const out = object(
    [
      ['name', n.name],
      ['initial_shard_count', n.initialShardCount],
      ['replication_factor', n.replicationFactor],
      ['key_sorting', n.keySorting],
      ['anti_affinities', n.antiAffinities.map((a) => object([['labels', a.labels], ['mode', a.mode]], naming))],
    ],
    naming,
  );
  // Optional in the message: shown whenever it is set, false included.
  if (n.notificationsEnabled !== undefined) out[name('notifications_enabled', naming)] = n.notificationsEnabled;
  return out;
}

function shardPlain(s: ShardMetadata, naming: Naming): Plain {
  return object(
    [
      ['status', ShardStatus[s.status] ?? String(s.status)],
      ['term', Number(s.term)],
      ['leader', identity(s.leader, naming)],
      ['ensemble', s.ensemble.map((e) => identity(e, naming)!)],
      ['removed_nodes', s.removedNodes.map((e) => identity(e, naming)!)],
      ['pending_delete_shard_nodes', s.pendingDeleteShardNodes.map((e) => identity(e, naming)!)],
      ['int32_hash_range', s.int32HashRange ? { min: s.int32HashRange.min, max: s.int32HashRange.max } : undefined],
    ],
    naming,
  );
}

function namespaceStatusPlain(s: NamespaceStatus | undefined, naming: Naming): Plain | undefined {
  if (!s) return undefined;
  const shards: { [key: string]: Plain } = {};
  for (const [id, shard] of [...s.shards].sort(([a], [b]) => (a < b ? -1 : 1))) shards[id.toString()] = shardPlain(shard, naming);
  return object([['replication_factor', s.replicationFactor], ['shards', shards]], naming);
}

export function namespaceViewPlain(v: NamespaceView, naming: Naming): Plain {
  // Oxia's views carry no YAML names: yaml.v3 lowercases the Go field names.
  return naming === 'snake'
    ? object([['namespace', namespacePlain(v.namespace, naming)], ['namespace_status', namespaceStatusPlain(v.namespaceStatus, naming)]], naming)
    : { namespace: namespacePlain(v.namespace, naming) ?? {}, namespacestatus: namespaceStatusPlain(v.namespaceStatus, naming) ?? {} };
}

export function dataServerViewPlain(v: DataServerView, naming: Naming): Plain {
  const status = v.dataServerStatus ? { state: stateName(v.dataServerStatus.state), ...(v.dataServerStatus.supportedFeatures.length > 0 ? { supported_features: v.dataServerStatus.supportedFeatures.map(String) } : {}) } : undefined;
  const server = dataServerPlain(v.dataServer, naming);
  return naming === 'snake'
    ? object([['data_server', server], ['data_server_status', status]], naming)
    : { dataserver: server ?? {}, dataserverstatus: status ?? {} };
}

export function stateName(state: DataServerState): string {
  return DataServerState[state] ?? String(state);
}

export function formatStructured(format: 'json' | 'yaml', value: Plain): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

/** Columns padded to the widest cell plus two spaces, as Go's tabwriter(0, 0, 2, ' ') does. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('')).join('\n') + '\n';
}

export function labelsText(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
