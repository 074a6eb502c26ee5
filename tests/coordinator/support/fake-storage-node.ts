// A tiny storage node for coordinator tests: a real grpc-js server on 127.0.0.1 (port 0) that
// answers Oxia's OxiaCoordination calls from the replication state machine of
// src/domain/replication/shard-role.ts and a log head per shard that the test sets, plus the
// gRPC health service. It replicates nothing: it is there to see what the coordinator asks, in
// which order, and how it reacts to answers and to the node going away.
import * as grpc from '@grpc/grpc-js';
import { HealthService, OxiaCoordinationService } from '../../../src/adapters/grpc-protocol/service-definitions.js';
import { oxiaErrorToStatus } from '../../../src/adapters/grpc/status-mapping.js';
import type { NodeAddress } from '../../../src/domain/cluster/node-address.js';
import { OxiaError } from '../../../src/domain/errors/oxia-error.js';
import { checkAddFollower, onBecomeLeader, onDeleteShard, onNewTerm, type ShardRole } from '../../../src/domain/replication/shard-role.js';
import type { EntryId } from '../../../src/domain/wal/log-entry.js';
import type { ShardAssignments } from '../../../src/domain/wire/client.js';
import { HealthCheckResponse_ServingStatus as Health } from '../../../src/domain/wire/health.js';
import { ServingStatus, type GetStatusResponse } from '../../../src/domain/wire/replication.js';

export interface FakeShard {
  role: ShardRole;
  head: EntryId;
  namespace: string;
  followers: Map<string, EntryId>;
}

export interface RecordedCall {
  readonly method: string;
  readonly shard?: bigint;
  readonly term?: bigint;
  /** NewTerm's read-lease hint (ADR 0024). */
  readonly previousLeaderFenced?: boolean;
  readonly at: number;
}

const CALLS_MAX = 10_000;

export class FakeStorageNode {
  readonly shards = new Map<bigint, FakeShard>();
  readonly calls: RecordedCall[] = [];
  readonly assignments: ShardAssignments[] = [];
  private server: grpc.Server | undefined;
  private port = 0;
  private health: Health = Health.SERVING;
  private readonly watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  /** Called before each coordination call is answered; throw an OxiaError to fail it. */
  beforeCall: (method: string, request: { shard?: bigint; term?: bigint }) => void = () => undefined;

  constructor(readonly name: string) {}

  get address(): NodeAddress {
    return { public: `${this.name}.public:${this.port}`, internal: `127.0.0.1:${this.port}` };
  }

  /** The address with the node's name, for configs that name their servers. */
  get namedAddress(): NodeAddress {
    return { name: this.name, ...this.address };
  }

  async start(): Promise<this> {
    const server = new grpc.Server();
    const unary =
      <Req, Res>(method: string, fn: (req: Req) => Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        const req = call.request as { shard?: bigint; term?: bigint; previousLeaderFenced?: boolean };
        this.calls.push({
          method,
          ...(req.shard !== undefined ? { shard: req.shard } : {}),
          ...(req.term !== undefined ? { term: req.term } : {}),
          ...(req.previousLeaderFenced ? { previousLeaderFenced: true } : {}),
          at: Date.now(),
        });
        if (this.calls.length > CALLS_MAX) this.calls.shift();
        try {
          this.beforeCall(method, req);
          cb(null, fn(call.request));
        } catch (e) {
          if (e instanceof OxiaError) cb(oxiaErrorToStatus(e));
          else cb({ code: grpc.status.INTERNAL, details: String(e) });
        }
      };
    server.addService(OxiaCoordinationService, {
      newTerm: unary('newTerm', (r: { namespace: string; shard: bigint; term: bigint }) => {
        const s = this.shard(r.shard, r.namespace);
        s.role = this.apply(onNewTerm(s.role, r.term));
        s.followers.clear();
        return { headEntryId: { ...s.head } };
      }),
      becomeLeader: unary('becomeLeader', (r: { shard: bigint; term: bigint; replicationFactor: number; followerMaps: Record<string, EntryId> }) => {
        const s = this.shard(r.shard);
        s.role = this.apply(onBecomeLeader(s.role, r.term, r.replicationFactor));
        s.followers = new Map(Object.entries(r.followerMaps));
        return {};
      }),
      addFollower: unary('addFollower', (r: { shard: bigint; term: bigint; followerName: string; followerHeadEntryId?: EntryId }) => {
        const s = this.shard(r.shard);
        const error = checkAddFollower(s.role, r.term);
        if (error) throw error;
        s.followers.set(r.followerName, r.followerHeadEntryId ?? { term: -1n, offset: -1n });
        return {};
      }),
      getStatus: unary('getStatus', (r: { shard: bigint }): GetStatusResponse => {
        const s = this.shards.get(r.shard);
        if (!s) return { term: -1n, status: ServingStatus.NOT_MEMBER, headOffset: -1n, commitOffset: -1n };
        const status = { NotMember: ServingStatus.NOT_MEMBER, Fenced: ServingStatus.FENCED, Follower: ServingStatus.FOLLOWER, Leader: ServingStatus.LEADER }[s.role.kind];
        return { term: s.role.term, status, headOffset: s.head.offset, commitOffset: s.head.offset };
      }),
      deleteShard: unary('deleteShard', (r: { shard: bigint; term: bigint }) => {
        const s = this.shards.get(r.shard);
        if (s) {
          this.apply(onDeleteShard(s.role, r.term));
          this.shards.delete(r.shard);
        }
        return {};
      }),
      pushShardAssignments: (call: grpc.ServerReadableStream<ShardAssignments, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        call.on('data', (a: ShardAssignments) => this.assignments.push(a));
        call.on('end', () => cb(null, {}));
        call.on('error', () => undefined);
      },
      handshake: unary('handshake', () => ({ status: 1, featuresSupported: [] })),
      getInfo: unary('getInfo', () => ({ featuresSupported: [] })),
      removeObserver: unary('removeObserver', () => ({})),
      freezeShard: unary('freezeShard', () => ({ headOffset: -1n })),
    });
    server.addService(HealthService, {
      check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: this.health }),
      watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        this.watchers.add(call);
        call.write({ status: this.health });
        call.on('cancelled', () => this.watchers.delete(call));
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.server = server;
    return this;
  }

  /** Like a crash: every call and stream cut off, the port closed. The shard state survives (it is "on disk"). */
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.watchers.clear();
  }

  /** Stops and starts again on another free port (a rescheduled pod, a node moved to another port). */
  async restartOnNewPort(): Promise<void> {
    this.stop();
    this.port = 0;
    await this.start();
  }

  setServing(serving: boolean): void {
    this.health = serving ? Health.SERVING : Health.NOT_SERVING;
    for (const w of this.watchers) w.write({ status: this.health });
  }

  setHead(shard: bigint, namespace: string, head: EntryId): void {
    this.shard(shard, namespace).head = head;
  }

  role(shard: bigint): ShardRole | undefined {
    return this.shards.get(shard)?.role;
  }

  callsOf(method: string, shard?: bigint): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (shard === undefined || c.shard === shard));
  }

  private shard(id: bigint, namespace = ''): FakeShard {
    let s = this.shards.get(id);
    if (!s) {
      s = { role: { kind: 'NotMember', term: -1n }, head: { term: -1n, offset: -1n }, namespace, followers: new Map() };
      this.shards.set(id, s);
    }
    return s;
  }

  private apply(t: { ok: true; role: ShardRole } | { ok: false; error: OxiaError }): ShardRole {
    if (!t.ok) throw t.error;
    return t.role;
  }
}
