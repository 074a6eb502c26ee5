// Drives storage nodes the way Oxia's coordinator does, with a client built only from
// the protocol (the OxiaCoordination service table and the generated codecs): NewTerm,
// BecomeLeader, AddFollower (also as a split observer), RemoveObserver, FreezeShard, GetStatus,
// DeleteShard, PushShardAssignments. Tests use it
// to set up and fail over shards without a coordinator.
import * as grpc from '@grpc/grpc-js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OxiaCoordinationService } from '../../../src/adapters/grpc-protocol/service-definitions.js';
import { shardAssignmentsMessage } from '../../../src/domain/sharding/assignments.js';
import { splitHashRange } from '../../../src/domain/sharding/hash-range.js';
import { Status, type ShardAssignments } from '../../../src/domain/wire/client.js';
import {
  KeySortingType,
  ServingStatus,
  type EntryId,
  type GetStatusResponse,
  type NewTermOptions,
} from '../../../src/domain/wire/replication.js';
import type { RawOxiaClient } from '../../support/raw-client.js';
import { startStorageNode, type StartStorageNodeOptions, type StorageNodeProcess } from '../../support/storage-node.js';
import { waitFor } from '../../support/wait.js';

type AnyClient = grpc.Client & { [K in keyof typeof OxiaCoordinationService]: (...args: any[]) => any };

export const NAMESPACE = 'default';
/** Calls the coordinator makes are bounded; a hung node fails the test instead of hanging it. */
const CALL_DEADLINE_MS = 20_000;

export class CoordinationClient {
  readonly client: AnyClient;
  private pushCall: grpc.ClientWritableStream<ShardAssignments> | undefined;

  constructor(readonly address: string) {
    const Ctor = grpc.makeGenericClientConstructor(OxiaCoordinationService, 'OxiaCoordination');
    this.client = new Ctor(address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    }) as unknown as AnyClient;
  }

  private unary<T>(method: keyof typeof OxiaCoordinationService, request: unknown, deadlineMs = CALL_DEADLINE_MS): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.client[method](request, new grpc.Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (e: grpc.ServiceError | null, r: T) =>
        e ? reject(e) : resolve(r),
      ),
    );
  }

  async newTerm(shard: bigint, term: bigint, options: Partial<NewTermOptions> = {}, previousLeaderFenced?: true): Promise<EntryId> {
    const r = await this.unary<{ headEntryId?: EntryId }>('newTerm', {
      namespace: NAMESPACE,
      shard,
      term,
      options: { enableNotifications: true, keySorting: KeySortingType.HIERARCHICAL, ...options },
      ...(previousLeaderFenced ? { previousLeaderFenced } : {}),
    });
    return r.headEntryId ?? { term: -1n, offset: -1n };
  }

  async becomeLeader(shard: bigint, term: bigint, replicationFactor: number, followers: Record<string, EntryId>): Promise<void> {
    await this.unary('becomeLeader', { namespace: NAMESPACE, shard, term, replicationFactor, followerMaps: followers, featuresSupported: [] });
  }

  async addFollower(shard: bigint, term: bigint, followerName: string, followerHeadEntryId: EntryId): Promise<void> {
    await this.unary('addFollower', { namespace: NAMESPACE, shard, term, followerName, followerHeadEntryId, observer: false });
  }

  /** FreezeShard (ADR 0025): answers the frozen leader's head offset. */
  async freezeShard(shard: bigint, term: bigint, frozen = true): Promise<bigint> {
    const r = await this.unary<{ headOffset: bigint }>('freezeShard', { namespace: NAMESPACE, shard, term, frozen });
    return r.headOffset;
  }

  /** AddFollower with observer set: the frozen leader copies the part of `range` to `followerName`'s child `targetShard`. */
  async addObserver(shard: bigint, term: bigint, followerName: string, targetShard: bigint, range: { min: number; max: number }): Promise<void> {
    await this.unary('addFollower', {
      namespace: NAMESPACE,
      shard,
      term,
      followerName,
      followerHeadEntryId: { term: -1n, offset: -1n },
      observer: true,
      targetShard,
      splitHashRange: { minHashInclusive: range.min, maxHashInclusive: range.max },
    });
  }

  async removeObserver(shard: bigint, term: bigint, followerName: string, targetShard: bigint): Promise<void> {
    await this.unary('removeObserver', { namespace: NAMESPACE, shard, term, followerName, targetShard });
  }

  getStatus(shard: bigint): Promise<GetStatusResponse> {
    return this.unary<GetStatusResponse>('getStatus', { shard }, 5_000);
  }

  async deleteShard(shard: bigint, term: bigint): Promise<void> {
    await this.unary('deleteShard', { namespace: NAMESPACE, shard, term });
  }

  /** Sends assignments on this client's PushShardAssignments stream (opened on first use). */
  pushAssignments(assignments: ShardAssignments): void {
    if (!this.pushCall) {
      this.pushCall = this.client.pushShardAssignments(() => {
        this.pushCall = undefined;
      }) as grpc.ClientWritableStream<ShardAssignments>;
      this.pushCall.on('error', () => undefined);
    }
    this.pushCall.write(assignments);
  }

  close(): void {
    this.pushCall?.cancel();
    this.client.close();
  }
}

export interface ClusterNode {
  readonly process: StorageNodeProcess;
  readonly coordination: CoordinationClient;
  /** The node's name in the protocol: its internal address. */
  readonly name: string;
  readonly publicAddress: string;
}

/** The assignments a coordinator would push: `shards` shards of the default namespace, each with its leader's public address. */
export function assignments(leaders: readonly string[]): ShardAssignments {
  const ranges = splitHashRange(leaders.length);
  return shardAssignmentsMessage(new Map([[NAMESPACE, ranges.map((range, i) => ({ shard: BigInt(i), range, leader: leaders[i] ?? '' }))]]));
}

export async function startNodes(count: number, options: StartStorageNodeOptions = {}): Promise<ClusterNode[]> {
  const processes = await Promise.all(Array.from({ length: count }, () => startStorageNode(options)));
  return processes.map((p) => ({
    process: p,
    coordination: new CoordinationClient(p.internalAddress),
    name: p.internalAddress,
    publicAddress: p.publicAddress,
  }));
}

export async function stopNodes(nodes: readonly ClusterNode[]): Promise<void> {
  for (const n of nodes) n.coordination.close();
  await Promise.all(nodes.map((n) => n.process.kill9()));
}

/**
 * An election as Oxia's coordinator runs it: NewTerm on every given node (all must
 * answer), then BecomeLeader on `leader` with the others as followers.
 */
export async function elect(shard: bigint, term: bigint, leader: ClusterNode, followers: readonly ClusterNode[], replicationFactor = 3): Promise<Map<string, EntryId>> {
  const heads = new Map<string, EntryId>();
  await Promise.all(
    [leader, ...followers].map(async (n) => {
      heads.set(n.name, await n.coordination.newTerm(shard, term));
    }),
  );
  const followerMaps: Record<string, EntryId> = {};
  for (const f of followers) followerMaps[f.name] = heads.get(f.name)!;
  await leader.coordination.becomeLeader(shard, term, replicationFactor, followerMaps);
  return heads;
}

/** Waits until `node` reports for `shard` the given role and offsets at least the given ones. */
export async function waitForStatus(
  node: ClusterNode,
  shard: bigint,
  want: { status?: ServingStatus; headAtLeast?: bigint; commitAtLeast?: bigint },
  what: string,
  timeoutMs = 20_000,
): Promise<GetStatusResponse> {
  let last: GetStatusResponse | undefined;
  try {
    await waitFor(
      async () => {
        last = await node.coordination.getStatus(shard);
        return (
          (want.status === undefined || last.status === want.status) &&
          (want.headAtLeast === undefined || last.headOffset >= want.headAtLeast) &&
          (want.commitAtLeast === undefined || last.commitOffset >= want.commitAtLeast)
        );
      },
      what,
      timeoutMs,
    );
  } catch (error) {
    const seen = last ? `${ServingStatus[last.status]} term ${last.term} head ${last.headOffset} commit ${last.commitOffset}` : 'no status';
    throw new Error(`${(error as Error).message}; last seen: ${seen}`);
  }
  return last!;
}

export { ServingStatus };

const SEGMENT_FILE = /^(\d{20})\.wal$/;

/** The first offset of the oldest WAL segment the node holds for shard 0, read from the file names. */
export function walFirstOffset(node: ClusterNode): bigint {
  const dir = join(node.process.dataDir, 'wal', NAMESPACE, '0');
  const firsts = readdirSync(dir)
    .map((name) => SEGMENT_FILE.exec(name)?.[1])
    .filter((m): m is string => m !== undefined)
    .map((m) => BigInt(m));
  return firsts.length === 0 ? -1n : firsts.reduce((a, b) => (a < b ? a : b));
}

/**
 * The keys of `expected` whose value `client` reads differently from shard `shard` (a missing
 * key reads as undefined, as an expected deletion says), each as "key: got != expected", values cut to `show` characters.
 */
export async function valuesThatDiffer(client: RawOxiaClient, shard: bigint, expected: ReadonlyMap<string, string | undefined>, show = Infinity): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, value] of expected) {
    const g = await client.get(shard, key);
    const got = g.status === Status.OK ? Buffer.from(g.value ?? []).toString() : undefined;
    if (got !== value) wrong.push(`${key}: ${got?.slice(0, show)} != ${value?.slice(0, show)}`);
  }
  return wrong;
}
