// A shard database on an in-memory store, driven entry by entry as a replica would:
// apply an entry, write its ops, remember what it reported.
import type { AppliedEntry, DatabaseConfig, KeyRangeQuery } from '../../src/domain/database/api.js';
import { MemoryKv, applyEntry, get, list, rangeScan } from '../../src/domain/database/index.js';
import type { KeySorting } from '../../src/domain/sharding/namespace.js';
import {
  type DeleteRequest,
  type GetResponse,
  KeyComparisonType,
  PutRequest,
  type SecondaryIndex,
  WriteRequest,
} from '../../src/domain/wire/client.js';
import type { LogEntryValue } from '../../src/domain/wire/storage.js';

export interface PutOptions {
  expectedVersionId?: bigint;
  sessionId?: bigint;
  clientIdentity?: string;
  partitionKey?: string;
  sequenceKeyDelta?: bigint[];
  secondaryIndexes?: Record<string, string> | SecondaryIndex[];
  overrideVersionId?: bigint;
  overrideModificationsCount?: bigint;
}

export function put(key: string, value: string | Uint8Array, options: PutOptions = {}): PutRequest {
  const { secondaryIndexes, ...rest } = options;
  const indexes = Array.isArray(secondaryIndexes)
    ? secondaryIndexes
    : Object.entries(secondaryIndexes ?? {}).map(([indexName, secondaryKey]) => ({ indexName, secondaryKey }));
  return PutRequest.fromPartial({
    key,
    value: Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value),
    ...rest,
    secondaryIndexes: indexes,
  });
}

export function del(key: string, expectedVersionId?: bigint): DeleteRequest {
  return expectedVersionId === undefined ? { key } : { key, expectedVersionId };
}

export function requests(...writes: Array<Partial<WriteRequest>>): LogEntryValue {
  return { value: { $case: 'requests', value: { writes: writes.map((w) => WriteRequest.fromPartial(w)) } } };
}

export class Db {
  readonly kv = new MemoryKv();
  readonly config: DatabaseConfig;
  nextOffset = 0n;
  /** The leader's clock for the next entry; tests move it explicitly. */
  nowMs = 1_000n;

  constructor(keySorting: KeySorting = 'hierarchical', notificationsEnabled = true, shard = 7n) {
    this.config = { keySorting, notificationsEnabled, shard };
  }

  async applyValue(value: LogEntryValue): Promise<AppliedEntry> {
    const applied = await applyEntry(
      this.kv,
      { offset: this.nextOffset, term: 1n, timestampMs: this.nowMs, value },
      this.config,
    );
    this.kv.write(applied.ops);
    this.nextOffset++;
    return applied;
  }

  /** One entry carrying the given WriteRequests. */
  apply(...writes: Array<Partial<WriteRequest>>): Promise<AppliedEntry> {
    return this.applyValue(requests(...writes));
  }

  async write(request: Partial<WriteRequest>) {
    const applied = await this.apply(request);
    if (applied.errors[0]) throw applied.errors[0];
    return applied.responses[0]!;
  }

  async putOne(key: string, value: string, options: PutOptions = {}) {
    return (await this.write({ puts: [put(key, value, options)] })).puts[0]!;
  }

  get(key: string, comparisonType = KeyComparisonType.EQUAL, secondaryIndexName?: string): Promise<GetResponse> {
    return get(
      this.kv,
      { key, includeValue: true, comparisonType, ...(secondaryIndexName !== undefined ? { secondaryIndexName } : {}) },
      this.config,
    );
  }

  async value(key: string): Promise<string | undefined> {
    const r = await this.get(key);
    return r.value === undefined ? undefined : Buffer.from(r.value).toString('utf8');
  }

  async list(startInclusive: string, endExclusive: string, extra: Partial<KeyRangeQuery> = {}): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of list(this.kv, { startInclusive, endExclusive, ...extra }, this.config)) keys.push(k);
    return keys;
  }

  async scan(startInclusive: string, endExclusive: string, extra: Partial<KeyRangeQuery> = {}): Promise<GetResponse[]> {
    const out: GetResponse[] = [];
    for await (const r of rangeScan(this.kv, { startInclusive, endExclusive, ...extra }, this.config)) out.push(r);
    return out;
  }

  /** Every user key in the store, in order. */
  userKeys(): Promise<string[]> {
    return this.list('', '');
  }

  /** Every key, internal ones included. */
  allKeys(): Promise<string[]> {
    return this.list('', '', { includeInternalKeys: true });
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Deterministic pseudo-random numbers (xorshift32), so property tests replay identically. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
