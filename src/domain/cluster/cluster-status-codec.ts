import { OxiaError } from '../errors/oxia-error.js';
import { HASH_MAX, type HashRange } from '../sharding/hash-range.js';
import { isValidNamespaceName } from '../sharding/namespace.js';
import {
  compareBigInt,
  SHARD_STATUSES,
  SPLIT_PHASES,
  type ClusterStatus,
  type NamespaceStatus,
  type ShardMetadata,
  type ShardStatus,
  type SplitMetadata,
  type SplitPhase,
  type StatusVersion,
} from './cluster-status.js';
import { hasAdminChanges } from './admin-changes.js';
import { adminChangesToJson, readAdminChanges } from './admin-changes-codec.js';
import { describeJsonType, JsonSyntaxError, parseJson, stringifyJson, type JsonObject, type JsonValue } from './json-int64.js';
import { nodeId, type NodeAddress } from './node-address.js';

/*
 * The stored JSON of the cluster status, the seed's format (Oxia's model.ClusterStatus written
 * by Go's encoding/json inside the file provider's container):
 *
 *   {"clusterStatus":{"namespaces":{"default":{"replicationFactor":3,"shards":{"0":{"status":"SteadyState",
 *    "term":0,"leader":{"public":"..","internal":".."},"ensemble":[..],"int32HashRange":{"min":0,
 *    "max":4294967295}}}}},"shardIdGenerator":1,"serverIdx":0},"version":"6"}
 *
 * Writing is canonical: keys in that order, compact, namespaces by name and shards by id,
 * `leader` only when there is one, `removedNodes` / `pendingDeleteShardNodes` only when not
 * empty, `name` of a node only when it has one. Reading also accepts what other writers of
 * this format produce: Go's `null` for a missing leader or an empty list, and protojson's
 * int64-as-string and "ShardStatusUnknown".
 */

export const INT64_MAX = (1n << 63n) - 1n;
export const UINT32_MAX = 0xffff_ffff;
/** Only this many problems are listed in one error; the rest are counted. */
const PROBLEMS_LISTED_MAX = 20;

/** A stored status: the status and the version it was written as. */
export interface StoredClusterStatus {
  readonly status: ClusterStatus;
  readonly version: StatusVersion;
}

// ---------------------------------------------------------------------------- writing

/** The container the status file holds: `{"clusterStatus":{...},"version":"N"}`. */
export function encodeStoredClusterStatus(status: ClusterStatus, version: StatusVersion): string {
  assertValid(status);
  return stringifyJson(
    new Map<string, JsonValue>([
      ['clusterStatus', statusToJson(status)],
      ['version', version],
    ]),
  );
}

/** The bare status object (what a ConfigMap's `status` key holds). */
export function encodeClusterStatus(status: ClusterStatus): string {
  assertValid(status);
  return stringifyJson(statusToJson(status));
}

function assertValid(status: ClusterStatus): void {
  const problems = clusterStatusProblems(status);
  if (problems.length > 0) throw invalid('refusing to write an invalid cluster status', problems);
}

function statusToJson(status: ClusterStatus): JsonObject {
  const namespaces: JsonObject = new Map();
  for (const name of [...status.namespaces.keys()].sort()) {
    const ns = status.namespaces.get(name)!;
    const shards: JsonObject = new Map();
    for (const id of [...ns.shards.keys()].sort(compareBigInt)) shards.set(id.toString(), shardToJson(ns.shards.get(id)!));
    namespaces.set(
      name,
      new Map<string, JsonValue>([
        ['replicationFactor', ns.replicationFactor],
        ['shards', shards],
      ]),
    );
  }
  const out = new Map<string, JsonValue>([
    ['namespaces', namespaces],
    ['shardIdGenerator', status.shardIdGenerator],
    ['serverIdx', status.serverIdx],
  ]);
  // Ours (ADR 0022), only when there is something: Oxia's readers discard unknown fields.
  if (hasAdminChanges(status.adminChanges)) out.set('adminChanges', adminChangesToJson(status.adminChanges));
  return out;
}

function shardToJson(s: ShardMetadata): JsonObject {
  const out: JsonObject = new Map<string, JsonValue>([
    ['status', s.status],
    ['term', s.term],
  ]);
  if (s.leader) out.set('leader', nodeToJson(s.leader));
  out.set('ensemble', s.ensemble.map(nodeToJson));
  if (s.removedNodes.length > 0) out.set('removedNodes', s.removedNodes.map(nodeToJson));
  if (s.pendingDeleteShardNodes.length > 0) out.set('pendingDeleteShardNodes', s.pendingDeleteShardNodes.map(nodeToJson));
  out.set(
    'int32HashRange',
    new Map<string, JsonValue>([
      ['min', s.int32HashRange.min],
      ['max', s.int32HashRange.max],
    ]),
  );
  if (s.split) out.set('split', splitToJson(s.split));
  return out;
}

/** Oxia's JSON field names (model.SplitMetadata); zero values left out as Go's omitempty does. */
function splitToJson(split: SplitMetadata): JsonObject {
  const out: JsonObject = new Map<string, JsonValue>([
    ['phase', split.phase],
    ['parentShardId', split.parentShardId],
  ]);
  if (split.childShardIds.length > 0) out.set('childShardIds', [...split.childShardIds]);
  out.set('splitPoint', split.splitPoint);
  if (split.snapshotOffset !== 0n) out.set('snapshotOffset', split.snapshotOffset);
  if (split.parentTermAtBootstrap !== 0n) out.set('parentTermAtBootstrap', split.parentTermAtBootstrap);
  return out;
}

function nodeToJson(n: NodeAddress): JsonObject {
  const out: JsonObject = new Map();
  if (n.name !== undefined) out.set('name', n.name);
  out.set('public', n.public);
  out.set('internal', n.internal);
  return out;
}

// ---------------------------------------------------------------------------- reading

/** Reads the status file's container. Throws OxiaError('InvalidArgument') naming every problem found. */
export function decodeStoredClusterStatus(text: string): StoredClusterStatus {
  const r = new Reader();
  const root = r.object(parse(text), '');
  if (!root) throw invalid('invalid stored cluster status', r.problems);
  const status = r.status(root.get('clusterStatus'), 'clusterStatus');
  const version = r.version(root.get('version'), 'version');
  r.noOtherKeys(root, ['clusterStatus', 'version'], '');
  return finish(r, status, version, 'invalid stored cluster status');
}

/**
 * Reads a bare status object. Also accepts the file's container, so a status copied from
 * a file into a ConfigMap (or back) is understood either way.
 */
export function decodeClusterStatus(text: string): ClusterStatus {
  const r = new Reader();
  const root = r.object(parse(text), '');
  if (!root) throw invalid('invalid cluster status', r.problems);
  const status = root.has('clusterStatus') ? r.status(root.get('clusterStatus'), 'clusterStatus') : r.status(root, '');
  return finish(r, status, '', 'invalid cluster status').status;
}

function parse(text: string): JsonValue {
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new OxiaError('InvalidArgument', `cluster status is not valid JSON: ${e.message}`);
    throw e;
  }
}

function finish(r: Reader, status: ClusterStatus | undefined, version: StatusVersion | undefined, what: string): StoredClusterStatus {
  if (status === undefined || version === undefined || r.problems.length > 0) throw invalid(what, r.problems);
  const problems = clusterStatusProblems(status);
  if (problems.length > 0) throw invalid(what, problems);
  return { status, version };
}

function invalid(what: string, problems: readonly string[]): OxiaError {
  const listed = problems.slice(0, PROBLEMS_LISTED_MAX);
  const more = problems.length > listed.length ? `; and ${problems.length - listed.length} more` : '';
  return new OxiaError('InvalidArgument', `${what}: ${listed.join('; ')}${more}`);
}

const at = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** Walks the parsed JSON, collecting every problem with its path instead of stopping at the first. */
class Reader {
  readonly problems: string[] = [];

  problem(path: string, message: string): undefined {
    this.problems.push(path === '' ? message : `${path}: ${message}`);
    return undefined;
  }

  object(v: JsonValue | undefined, path: string): JsonObject | undefined {
    if (v instanceof Map) return v;
    return this.problem(path, `expected an object, got ${describeJsonType(v)}`);
  }

  noOtherKeys(obj: JsonObject, known: readonly string[], path: string): void {
    for (const k of obj.keys()) if (!known.includes(k)) this.problem(at(path, k), 'unknown field');
  }

  string(v: JsonValue | undefined, path: string): string | undefined {
    if (typeof v === 'string' && v !== '') return v;
    return this.problem(path, `expected a non-empty string, got ${describeJsonType(v)}`);
  }

  /** An integer within [min, max]; protojson writes 64-bit integers as decimal strings, so those are read too. */
  integer(v: JsonValue | undefined, path: string, min: bigint, max: bigint): bigint | undefined {
    let n: bigint | undefined;
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) n = BigInt(v);
    else return this.problem(path, `expected an integer, got ${describeJsonType(v)}`);
    if (n < min || n > max) return this.problem(path, `${n} is out of range [${min}, ${max}]`);
    return n;
  }

  smallInteger(v: JsonValue | undefined, path: string, min: number, max: number): number | undefined {
    const n = this.integer(v, path, BigInt(min), BigInt(max));
    return n === undefined ? undefined : Number(n);
  }

  version(v: JsonValue | undefined, path: string): StatusVersion | undefined {
    // Go writes the version as a string; a number is read too so that a hand-edited file still loads.
    if (typeof v === 'string' && /^(0|[1-9]\d{0,18})$/.test(v)) return v;
    if (typeof v === 'bigint' && v >= 0n && v <= INT64_MAX) return v.toString();
    return this.problem(path, `expected a version (a non-negative decimal string), got ${describeJsonType(v)}`);
  }

  status(v: JsonValue | undefined, path: string): ClusterStatus | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['namespaces', 'shardIdGenerator', 'serverIdx', 'instanceId', 'adminChanges'], path);
    const namespaces = new Map<string, NamespaceStatus>();
    const nsValue = obj.get('namespaces');
    const nsObj = nsValue === undefined || nsValue === null ? new Map<string, JsonValue>() : this.object(nsValue, at(path, 'namespaces'));
    for (const [name, value] of nsObj ?? []) {
      const ns = this.namespace(value, at(at(path, 'namespaces'), name));
      if (ns) namespaces.set(name, ns);
    }
    // Go omits neither field, protojson omits zero values: absent means 0.
    const gen = obj.has('shardIdGenerator') ? this.integer(obj.get('shardIdGenerator'), at(path, 'shardIdGenerator'), 0n, INT64_MAX) : 0n;
    const idx = obj.has('serverIdx') ? this.smallInteger(obj.get('serverIdx'), at(path, 'serverIdx'), 0, UINT32_MAX) : 0;
    const changesValue = obj.get('adminChanges');
    const adminChanges =
      changesValue === undefined || changesValue === null ? undefined : readAdminChanges(changesValue, at(path, 'adminChanges'), (p, m) => this.problem(p, m));
    if (gen === undefined || idx === undefined) return undefined;
    return { namespaces, shardIdGenerator: gen, serverIdx: idx, ...(hasAdminChanges(adminChanges) ? { adminChanges } : {}) };
  }

  namespace(v: JsonValue | undefined, path: string): NamespaceStatus | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['replicationFactor', 'shards'], path);
    const rf = this.smallInteger(obj.get('replicationFactor'), at(path, 'replicationFactor'), 1, UINT32_MAX);
    const shards = new Map<bigint, ShardMetadata>();
    const shardsValue = obj.get('shards');
    const shardsObj = shardsValue === undefined || shardsValue === null ? new Map<string, JsonValue>() : this.object(shardsValue, at(path, 'shards'));
    for (const [key, value] of shardsObj ?? []) {
      const p = at(at(path, 'shards'), key);
      const id = /^(0|[1-9]\d{0,18})$/.test(key) ? BigInt(key) : undefined;
      if (id === undefined || id > INT64_MAX) {
        this.problem(p, 'a shard id must be a non-negative 64-bit integer');
        continue;
      }
      const shard = this.shard(value, p);
      if (shard) shards.set(id, shard);
    }
    if (rf === undefined) return undefined;
    return { replicationFactor: rf, shards };
  }

  shard(v: JsonValue | undefined, path: string): ShardMetadata | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['status', 'term', 'leader', 'ensemble', 'removedNodes', 'pendingDeleteShardNodes', 'int32HashRange', 'split'], path);
    const splitValue = obj.get('split');
    const split = splitValue === undefined || splitValue === null ? undefined : this.split(splitValue, at(path, 'split'));
    if (splitValue !== undefined && splitValue !== null && !split) return undefined;
    const status = this.shardStatus(obj.get('status'), at(path, 'status'));
    // -1 is the term of a shard that has not had its first election yet.
    const term = this.integer(obj.get('term'), at(path, 'term'), -1n, INT64_MAX);
    const leaderValue = obj.get('leader');
    const leader = leaderValue === undefined || leaderValue === null ? undefined : this.node(leaderValue, at(path, 'leader'));
    const ensemble = this.nodes(obj.get('ensemble'), at(path, 'ensemble'));
    const removedNodes = this.nodes(obj.get('removedNodes'), at(path, 'removedNodes'));
    const pending = this.nodes(obj.get('pendingDeleteShardNodes'), at(path, 'pendingDeleteShardNodes'));
    const range = this.range(obj.get('int32HashRange'), at(path, 'int32HashRange'));
    if (status === undefined || term === undefined || !ensemble || !removedNodes || !pending || !range) return undefined;
    if (leaderValue !== undefined && leaderValue !== null && !leader) return undefined;
    return {
      status,
      term,
      ...(leader ? { leader } : {}),
      ensemble,
      removedNodes,
      pendingDeleteShardNodes: pending,
      int32HashRange: range,
      ...(split ? { split } : {}),
    };
  }

  split(v: JsonValue, path: string): SplitMetadata | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['phase', 'parentShardId', 'childShardIds', 'splitPoint', 'snapshotOffset', 'parentTermAtBootstrap', 'childLeadersAtBootstrap'], path);
    const phaseValue = obj.get('phase');
    const phase = typeof phaseValue === 'string' && (SPLIT_PHASES as readonly string[]).includes(phaseValue) ? (phaseValue as SplitPhase) : undefined;
    if (!phase) this.problem(at(path, 'phase'), `expected one of ${SPLIT_PHASES.join(', ')}`);
    const parentShardId = this.integer(obj.get('parentShardId'), at(path, 'parentShardId'), 0n, INT64_MAX);
    const childrenValue = obj.get('childShardIds');
    const childShardIds: bigint[] = [];
    if (childrenValue !== undefined && childrenValue !== null) {
      if (!Array.isArray(childrenValue)) return this.problem(at(path, 'childShardIds'), `expected an array, got ${describeJsonType(childrenValue)}`);
      for (const [i, c] of childrenValue.entries()) {
        const id = this.integer(c, `${at(path, 'childShardIds')}[${i}]`, 0n, INT64_MAX);
        if (id === undefined) return undefined;
        childShardIds.push(id);
      }
    }
    const splitPoint = this.smallInteger(obj.get('splitPoint'), at(path, 'splitPoint'), 0, UINT32_MAX);
    const snapshotOffset = obj.get('snapshotOffset') === undefined ? 0n : this.integer(obj.get('snapshotOffset'), at(path, 'snapshotOffset'), -1n, INT64_MAX);
    const parentTerm =
      obj.get('parentTermAtBootstrap') === undefined ? 0n : this.integer(obj.get('parentTermAtBootstrap'), at(path, 'parentTermAtBootstrap'), -1n, INT64_MAX);
    if (!phase || parentShardId === undefined || splitPoint === undefined || snapshotOffset === undefined || parentTerm === undefined) return undefined;
    return { phase, parentShardId, childShardIds, splitPoint, snapshotOffset, parentTermAtBootstrap: parentTerm };
  }

  shardStatus(v: JsonValue | undefined, path: string): ShardStatus | undefined {
    if (v === 'ShardStatusUnknown') return 'Unknown';
    if (typeof v === 'string' && (SHARD_STATUSES as readonly string[]).includes(v)) return v as ShardStatus;
    return this.problem(path, `expected one of ${SHARD_STATUSES.join(', ')}, got ${typeof v === 'string' ? `"${v}"` : describeJsonType(v)}`);
  }

  nodes(v: JsonValue | undefined, path: string): NodeAddress[] | undefined {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) return this.problem(path, `expected an array, got ${describeJsonType(v)}`);
    const out: NodeAddress[] = [];
    v.forEach((item, i) => {
      const n = this.node(item, `${path}[${i}]`);
      if (n) out.push(n);
    });
    return out.length === v.length ? out : undefined;
  }

  node(v: JsonValue | undefined, path: string): NodeAddress | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['name', 'public', 'internal'], path);
    const nameValue = obj.get('name');
    const name = nameValue === undefined || nameValue === null ? undefined : this.string(nameValue, at(path, 'name'));
    const pub = this.string(obj.get('public'), at(path, 'public'));
    const internal = this.string(obj.get('internal'), at(path, 'internal'));
    if (pub === undefined || internal === undefined) return undefined;
    if (nameValue !== undefined && nameValue !== null && name === undefined) return undefined;
    return name === undefined ? { public: pub, internal } : { name, public: pub, internal };
  }

  range(v: JsonValue | undefined, path: string): HashRange | undefined {
    const obj = this.object(v, path);
    if (!obj) return undefined;
    this.noOtherKeys(obj, ['min', 'max'], path);
    // protojson omits a zero min; Go always writes both.
    const min = obj.has('min') ? this.smallInteger(obj.get('min'), at(path, 'min'), 0, HASH_MAX) : 0;
    const max = obj.has('max') ? this.smallInteger(obj.get('max'), at(path, 'max'), 0, HASH_MAX) : 0;
    if (min === undefined || max === undefined) return undefined;
    return { min, max };
  }
}

// ---------------------------------------------------------------------------- semantic checks

/**
 * What must hold for a status to be safe to act on, beyond its shape: checked after
 * reading and before writing, so a coordinator never persists or trusts a status that would
 * reuse a shard id or route a hash to nowhere.
 */
export function clusterStatusProblems(status: ClusterStatus): string[] {
  const problems: string[] = [];
  if (status.shardIdGenerator < 0n || status.shardIdGenerator > INT64_MAX) problems.push(`shardIdGenerator: ${status.shardIdGenerator} is out of range`);
  if (!Number.isInteger(status.serverIdx) || status.serverIdx < 0 || status.serverIdx > UINT32_MAX) problems.push(`serverIdx: ${status.serverIdx} is not a uint32`);
  const owner = new Map<bigint, string>();
  for (const [name, ns] of status.namespaces) {
    const path = `namespaces.${name}`;
    if (!isValidNamespaceName(name)) problems.push(`${path}: invalid namespace name`);
    if (!Number.isInteger(ns.replicationFactor) || ns.replicationFactor < 1 || ns.replicationFactor > UINT32_MAX) {
      problems.push(`${path}.replicationFactor: must be a positive integer, got ${ns.replicationFactor}`);
    }
    for (const [id, shard] of ns.shards) {
      const sp = `${path}.shards.${id}`;
      const other = owner.get(id);
      if (other !== undefined) problems.push(`${sp}: shard id already used in namespace ${other}`);
      owner.set(id, name);
      if (id < 0n || id > INT64_MAX) problems.push(`${sp}: shard id out of range`);
      if (id >= status.shardIdGenerator) problems.push(`${sp}: shard id is not below shardIdGenerator (${status.shardIdGenerator}), so it could be handed out again`);
      problems.push(...shardProblems(shard, sp));
    }
  }
  return problems;
}

function shardProblems(s: ShardMetadata, path: string): string[] {
  const problems: string[] = [];
  if (!SHARD_STATUSES.includes(s.status)) problems.push(`${path}.status: unknown status ${String(s.status)}`);
  if (s.term < -1n || s.term > INT64_MAX) problems.push(`${path}.term: ${s.term} is out of range`);
  const { min, max } = s.int32HashRange;
  if (!isUint32(min) || !isUint32(max) || min > max) problems.push(`${path}.int32HashRange: [${min}, ${max}] is not a range of 32-bit hashes`);
  const nodeLists: [string, readonly NodeAddress[]][] = [
    ['ensemble', s.ensemble],
    ['removedNodes', s.removedNodes],
    ['pendingDeleteShardNodes', s.pendingDeleteShardNodes],
  ];
  for (const [field, nodes] of nodeLists) {
    nodes.forEach((n, i) => problems.push(...nodeProblems(n, `${path}.${field}[${i}]`)));
    const ids = nodes.map(nodeId);
    if (new Set(ids).size !== ids.length) problems.push(`${path}.${field}: a node is listed twice`);
  }
  if (s.leader) problems.push(...nodeProblems(s.leader, `${path}.leader`));
  return problems;
}

function nodeProblems(n: NodeAddress, path: string): string[] {
  const problems: string[] = [];
  if (typeof n.public !== 'string' || n.public === '') problems.push(`${path}.public: must be a non-empty string`);
  if (typeof n.internal !== 'string' || n.internal === '') problems.push(`${path}.internal: must be a non-empty string`);
  if (n.name !== undefined && (typeof n.name !== 'string' || n.name === '')) problems.push(`${path}.name: must be a non-empty string when given`);
  return problems;
}

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= UINT32_MAX;
