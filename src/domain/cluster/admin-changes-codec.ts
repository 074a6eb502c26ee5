import type { AntiAffinity, NamespaceConfig } from './cluster-config.js';
import type { AdminChange, AdminChanges, DataServerDeclaration } from './admin-changes.js';
import { describeJsonType, type JsonObject, type JsonValue } from './json-int64.js';
import { nodeId, type NodeAddress } from './node-address.js';
import { isValidNamespaceName, type KeySorting } from '../sharding/namespace.js';

/*
 * The JSON of the admin API's changes inside the stored status object (key `adminChanges`,
 * written only when there are changes):
 *
 *   {"namespaces":{"ns1":{"value":{"name":"ns1","initialShardCount":2,"replicationFactor":3,
 *     "notificationsEnabled":true,"keySorting":"hierarchical","antiAffinities":[]}}},
 *    "dataServers":{"s4":{"value":{"name":"s4","public":"h:1","internal":"h:2","labels":{"zone":"a"}},
 *     "base":{...}}}}
 *
 * A missing `value` is a deletion, a missing `base` an entry the config did not declare.
 * Namespace fields use the cluster config's YAML names.
 */

export function adminChangesToJson(changes: AdminChanges): JsonObject {
  const namespaces: JsonObject = new Map();
  for (const name of [...changes.namespaces.keys()].sort()) namespaces.set(name, changeToJson(changes.namespaces.get(name)!, namespaceToJson));
  const servers: JsonObject = new Map();
  for (const id of [...changes.dataServers.keys()].sort()) servers.set(id, changeToJson(changes.dataServers.get(id)!, serverToJson));
  return new Map<string, JsonValue>([
    ['namespaces', namespaces],
    ['dataServers', servers],
  ]);
}

function changeToJson<T>(change: AdminChange<T>, toJson: (v: T) => JsonObject): JsonObject {
  const out: JsonObject = new Map();
  if (change.value !== undefined) out.set('value', toJson(change.value));
  if (change.base !== undefined) out.set('base', toJson(change.base));
  return out;
}

function namespaceToJson(n: NamespaceConfig): JsonObject {
  return new Map<string, JsonValue>([
    ['name', n.name],
    ['initialShardCount', n.initialShardCount],
    ['replicationFactor', n.replicationFactor],
    ['notificationsEnabled', n.notificationsEnabled],
    ['keySorting', n.keySorting],
    ['antiAffinities', n.antiAffinities.map((a) => new Map<string, JsonValue>([['labels', [...a.labels]], ['mode', a.mode]]))],
  ]);
}

function serverToJson(s: DataServerDeclaration): JsonObject {
  const out: JsonObject = new Map();
  if (s.address.name !== undefined) out.set('name', s.address.name);
  out.set('public', s.address.public);
  out.set('internal', s.address.internal);
  if (s.metadata) out.set('labels', new Map(Object.entries(s.metadata.labels).sort(([a], [b]) => (a < b ? -1 : 1))));
  return out;
}

/** Reads `adminChanges`; every problem goes to `problem` with its path, and the result is then undefined. */
export function readAdminChanges(v: JsonValue | undefined, path: string, problem: (path: string, message: string) => void): AdminChanges | undefined {
  const r = new ChangesReader(problem);
  const obj = r.object(v, path);
  if (!obj) return undefined;
  r.noOtherKeys(obj, ['namespaces', 'dataServers'], path);
  const namespaces = new Map<string, AdminChange<NamespaceConfig>>();
  for (const [name, value] of r.object(obj.get('namespaces') ?? new Map(), `${path}.namespaces`) ?? []) {
    const p = `${path}.namespaces.${name}`;
    if (!isValidNamespaceName(name)) r.problem(p, 'invalid namespace name');
    const change = r.change(value, p, (x, q) => r.namespace(x, q));
    if (change) namespaces.set(name, change);
    if (change?.value && change.value.name !== name) r.problem(`${p}.value.name`, `must be "${name}"`);
  }
  const dataServers = new Map<string, AdminChange<DataServerDeclaration>>();
  for (const [id, value] of r.object(obj.get('dataServers') ?? new Map(), `${path}.dataServers`) ?? []) {
    const p = `${path}.dataServers.${id}`;
    const change = r.change(value, p, (x, q) => r.server(x, q));
    if (change) dataServers.set(id, change);
    if (change?.value && nodeId(change.value.address) !== id) r.problem(`${p}.value`, `must be the data server "${id}"`);
  }
  return r.failed ? undefined : { namespaces, dataServers };
}

class ChangesReader {
  failed = false;
  constructor(private readonly report: (path: string, message: string) => void) {}

  problem(path: string, message: string): undefined {
    this.failed = true;
    this.report(path, message);
    return undefined;
  }

  object(v: JsonValue | undefined, path: string): JsonObject | undefined {
    if (v instanceof Map) return v;
    return this.problem(path, `expected an object, got ${describeJsonType(v)}`);
  }

  noOtherKeys(obj: JsonObject, known: readonly string[], path: string): void {
    for (const k of obj.keys()) if (!known.includes(k)) this.problem(`${path}.${k}`, 'unknown field');
  }

  string(v: JsonValue | undefined, path: string): string | undefined {
    if (typeof v === 'string' && v !== '') return v;
    return this.problem(path, `expected a non-empty string, got ${describeJsonType(v)}`);
  }

  count(v: JsonValue | undefined, path: string): number | undefined {
    if (typeof v === 'bigint' && v >= 1n && v <= 0xffff_ffffn) return Number(v);
    return this.problem(path, `expected a positive 32-bit integer, got ${describeJsonType(v)}`);
  }

  change<T>(v: JsonValue, path: string, read: (v: JsonValue, path: string) => T | undefined): AdminChange<T> | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['value', 'base'], path);
    const value = obj.has('value') ? read(obj.get('value')!, `${path}.value`) : undefined;
    const base = obj.has('base') ? read(obj.get('base')!, `${path}.base`) : undefined;
    if (value === undefined && base === undefined) return this.problem(path, 'a change needs a value or a base');
    return { value, base };
  }

  namespace(v: JsonValue, path: string): NamespaceConfig | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['name', 'initialShardCount', 'replicationFactor', 'notificationsEnabled', 'keySorting', 'antiAffinities'], path);
    const name = this.string(obj.get('name'), `${path}.name`);
    const initialShardCount = this.count(obj.get('initialShardCount'), `${path}.initialShardCount`);
    const replicationFactor = this.count(obj.get('replicationFactor'), `${path}.replicationFactor`);
    const notifications = obj.get('notificationsEnabled');
    if (typeof notifications !== 'boolean') this.problem(`${path}.notificationsEnabled`, `expected a boolean, got ${describeJsonType(notifications)}`);
    const keySorting = obj.get('keySorting');
    if (keySorting !== 'hierarchical' && keySorting !== 'natural') this.problem(`${path}.keySorting`, 'expected "hierarchical" or "natural"');
    const rules = obj.get('antiAffinities');
    const antiAffinities: AntiAffinity[] = [];
    if (!Array.isArray(rules)) this.problem(`${path}.antiAffinities`, `expected an array, got ${describeJsonType(rules)}`);
    else
      rules.forEach((rule, i) => {
        const q = `${path}.antiAffinities[${i}]`;
        const o = this.object(rule, q);
        if (!o) return;
        const labels = o.get('labels');
        const mode = o.get('mode');
        if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) this.problem(`${q}.labels`, 'expected an array of strings');
        else if (mode !== 'strict' && mode !== 'relaxed') this.problem(`${q}.mode`, 'expected "strict" or "relaxed"');
        else antiAffinities.push({ labels: labels as string[], mode });
      });
    if (name === undefined || initialShardCount === undefined || replicationFactor === undefined || typeof notifications !== 'boolean') return undefined;
    if (keySorting !== 'hierarchical' && keySorting !== 'natural') return undefined;
    return { name, initialShardCount, replicationFactor, notificationsEnabled: notifications, keySorting: keySorting as KeySorting, antiAffinities };
  }

  server(v: JsonValue, path: string): DataServerDeclaration | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['name', 'public', 'internal', 'labels'], path);
    const name = obj.has('name') ? this.string(obj.get('name'), `${path}.name`) : undefined;
    const pub = this.string(obj.get('public'), `${path}.public`);
    const internal = this.string(obj.get('internal'), `${path}.internal`);
    let labels: Record<string, string> | undefined;
    if (obj.has('labels')) {
      const l = this.object(obj.get('labels'), `${path}.labels`);
      labels = {};
      for (const [k, value] of l ?? []) {
        if (typeof value === 'string') labels[k] = value;
        else this.problem(`${path}.labels.${k}`, `expected a string, got ${describeJsonType(value)}`);
      }
    }
    if (pub === undefined || internal === undefined || (obj.has('name') && name === undefined)) return undefined;
    const address: NodeAddress = name === undefined ? { public: pub, internal } : { name, public: pub, internal };
    return { address, metadata: labels ? { labels } : undefined };
  }
}
