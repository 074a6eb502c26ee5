import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { KeyComparisonType, Status } from '../../src/domain/wire/client.js';
import type { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { Incarnation } from '../../src/adapters/simulation/virtual-time.js';
import type { KvInput, KvOperation, KvOutput } from './kv-history.js';
import { NAMESPACE, type SimWorld } from './sim-world.js';

const OP_TIMEOUT_MS = 1_000;
/** The client that also holds sessions and writes ephemeral records. */
const SESSION_CLIENT = 'client-0';
const SESSION_TIMEOUT_MS = 2_000;

interface SimSession {
  readonly tag: string;
  readonly id: bigint;
  readonly shard: bigint;
  readonly createdMs: number;
  /** Keys it wrote (or tried to) an ephemeral record to. */
  readonly keys: Set<string>;
  live: boolean;
}

/**
 * Clients of a simulation: each issues one operation at a time (closed loop) on a few keys,
 * through the simulated network to the node the cluster status names as the shard's leader,
 * and records what it asked and what it got. Every attempt is an operation of its own:
 * nothing is retried behind the history's back.
 */
export class Workload {
  readonly history: KvOperation[] = [];
  private nextId = 0;
  private budget: number;
  private running = 0;
  /** Each client's cached leader per shard. */
  private readonly leaders = new Map<string, string>();

  constructor(
    private readonly world: SimWorld,
    private readonly random: SeededRandom,
    readonly keys: readonly string[],
    operations: number,
  ) {
    this.budget = operations;
  }

  get finished(): boolean {
    return this.budget <= 0 && this.running === 0;
  }

  start(clients: number): void {
    for (let i = 0; i < clients; i++) void this.client(`client-${i}`, this.random.fork());
  }

  private async client(name: string, random: SeededRandom): Promise<void> {
    const life = new Incarnation(name);
    const seen = new Map<string, bigint>();
    this.running++;
    try {
      while (this.budget > 0) {
        this.budget--;
        const key = random.pick(this.keys);
        if (name === SESSION_CLIENT && random.chance(0.05)) {
          await this.closeSomeSession(name, life, random);
          continue;
        }
        const session = name === SESSION_CLIENT && random.chance(0.3) ? await this.sessionFor(name, life, random, key) : undefined;
        const input = session ? this.ephemeralPut(session, key) : this.chooseInput(random, key, seen, name);
        const op = await this.perform(name, life, random, input);
        if (op) {
          this.history.push(op);
          if (op.output.type === 'ok' && op.output.versionId !== undefined) seen.set(key, op.output.versionId);
        }
        // After a failure, back off as real clients do (and keep the unknown outcomes few).
        const failed = !op || op.output.type === 'unknown';
        await this.sleep(failed ? random.between(100, 500) : random.between(0, 20));
      }
    } finally {
      this.running--;
    }
  }

  private chooseInput(random: SeededRandom, key: string, seen: Map<string, bigint>, client: string): KvInput {
    const roll = random.next();
    const expected = (): bigint | undefined => {
      const r = random.next();
      if (r < 0.2) return seen.get(key);
      if (r < 0.3) return -1n;
      return undefined;
    };
    if (roll < 0.4) {
      const expectedVersion = expected();
      return { type: 'put', key, value: `${client}.${this.nextId}`, ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
    }
    if (roll < 0.55) {
      const expectedVersion = expected();
      return { type: 'delete', key, ...(expectedVersion !== undefined && expectedVersion >= 0n ? { expectedVersion } : {}) };
    }
    return { type: 'get', key };
  }

  /** Sessions of the session client, by tag; a session lives on one shard. */
  private readonly sessions = new Map<string, SimSession>();

  private ephemeralPut(session: SimSession, key: string): KvInput {
    session.keys.add(key);
    return { type: 'put', key, value: `${session.tag}.${this.nextId}`, session: session.tag };
  }

  /** The live session on the key's shard, created when there is none; undefined when that fails. */
  private async sessionFor(client: string, life: Incarnation, random: SeededRandom, key: string): Promise<SimSession | undefined> {
    const route = this.route(client, key, random);
    if (!route) return undefined;
    const live = [...this.sessions.values()].find((s) => s.shard === route.shard && s.live);
    if (live) return live;
    const createdMs = this.world.now();
    try {
      const { sessionId } = await this.world.network.unary(
        client,
        life,
        route.node,
        (s) => s.client.createSession({ shard: route.shard, sessionTimeoutMs: SESSION_TIMEOUT_MS, clientIdentity: client }),
        OP_TIMEOUT_MS,
      );
      const session: SimSession = { tag: `s${route.shard}-${sessionId}`, id: sessionId, shard: route.shard, createdMs, keys: new Set(), live: true };
      this.sessions.set(session.tag, session);
      this.heartbeat(client, life, random, session);
      return session;
    } catch {
      this.leaders.delete(`${client}/${route.shard}`);
      return undefined;
    }
  }

  /** Keeps a session alive, as clients do, until it is closed, found gone, or the workload ends. */
  private heartbeat(client: string, life: Incarnation, random: SeededRandom, session: SimSession): void {
    const beat = (): void => {
      if (!session.live || this.budget <= 0) return;
      const node = this.leaders.get(`${client}/${session.shard}`) ?? this.route(client, this.keys[0] as string, random)?.node;
      if (node) {
        this.world.network
          .unary(client, life, node, (s) => s.client.keepAlive({ shard: session.shard, sessionId: session.id }), OP_TIMEOUT_MS)
          .catch((e: unknown) => {
            if (isOxiaError(e, 'SessionNotFound')) session.live = false;
            else this.leaders.delete(`${client}/${session.shard}`);
          });
      }
      this.world.scheduler.schedule(SESSION_TIMEOUT_MS / 5, beat);
    };
    this.world.scheduler.schedule(SESSION_TIMEOUT_MS / 5, beat);
  }

  private async closeSomeSession(client: string, life: Incarnation, random: SeededRandom): Promise<void> {
    const live = [...this.sessions.values()].filter((s) => s.live);
    if (live.length === 0) return;
    const session = random.pick(live);
    const node = this.leaders.get(`${client}/${session.shard}`) ?? this.route(client, [...session.keys][0] ?? (this.keys[0] as string), random)?.node;
    if (!node) return;
    const callMs = this.world.now();
    try {
      await this.world.network.unary(client, life, node, (s) => s.client.closeSession({ shard: session.shard, sessionId: session.id }), OP_TIMEOUT_MS);
      session.live = false;
      // Closed and answered: from then on none of its ephemeral records may be read.
      for (const key of session.keys) this.history.push(this.sessionEnd(client, session, key, callMs, this.world.now()));
    } catch (e) {
      this.leaders.delete(`${client}/${session.shard}`);
      if (isOxiaError(e, 'SessionNotFound')) session.live = false;
    }
  }

  private sessionEnd(client: string, session: SimSession, key: string, callMs: number, returnMs: number): KvOperation {
    const output: KvOutput = returnMs === Infinity ? { type: 'unknown' } : { type: 'ok' };
    return { id: this.nextId++, client, shard: session.shard, input: { type: 'session-end', key, session: session.tag }, output, callMs, returnMs };
  }

  /**
   * What the history says about the sessions at the end of a run. Any session may have
   * expired at any time after it was created. Heartbeats stop when the workload does
   * (`stoppedMs`); once the cluster has healed and every timeout has passed twice over
   * (`expiredByMs`), each session must have ended between the two, taking its records.
   */
  sessionEnds(stoppedMs: number, expiredByMs: number | undefined): KvOperation[] {
    const ops: KvOperation[] = [];
    for (const session of this.sessions.values()) {
      for (const key of session.keys) {
        ops.push(this.sessionEnd(SESSION_CLIENT, session, key, session.createdMs, Infinity));
        if (expiredByMs !== undefined) ops.push(this.sessionEnd(SESSION_CLIENT, session, key, stoppedMs, expiredByMs));
      }
    }
    return ops;
  }

  /** One attempt; undefined when it was a read that failed (it says nothing). */
  async perform(client: string, life: Incarnation, random: SeededRandom, input: KvInput): Promise<KvOperation | undefined> {
    const id = this.nextId++;
    const callMs = this.world.now();
    const route = this.route(client, input.key, random);
    if (!route) {
      if (input.type === 'get') return undefined;
      // Nowhere to send it: it was never sent, so it cannot have happened.
      return undefined;
    }
    let output: KvOutput;
    try {
      output = await this.world.network.unary(client, life, route.node, (s, signal) => this.invoke(s.client, route.shard, input, signal), OP_TIMEOUT_MS);
    } catch (e) {
      // As real clients: the cached leader is dropped on a failure (or replaced by the hint).
      const hint = isOxiaError(e) ? e.leaderHint : undefined;
      const hinted = hint ? this.world.nodes.find((n) => n.address.public === hint.leader)?.address.internal : undefined;
      if (hinted) this.leaders.set(`${client}/${route.shard}`, hinted);
      else this.leaders.delete(`${client}/${route.shard}`);
      if (input.type === 'get') return undefined;
      return { id, client, shard: route.shard, input, output: { type: 'unknown' }, callMs, returnMs: Infinity };
    }
    return { id, client, shard: route.shard, input, output, callMs, returnMs: this.world.now() };
  }

  private async invoke(api: import('../../src/application/client-api.js').ClientApi, shard: bigint, input: KvInput, signal: AbortSignal): Promise<KvOutput> {
    switch (input.type) {
      case 'put': {
        const sessionId = input.session !== undefined ? this.sessions.get(input.session)?.id : undefined;
        const response = await api.write(
          shard,
          {
            shard,
            puts: [{ key: input.key, value: Buffer.from(input.value), expectedVersionId: input.expectedVersion, sessionId, sequenceKeyDelta: [], secondaryIndexes: [] }],
            deletes: [],
            deleteRanges: [],
          },
          NAMESPACE,
        );
        const put = response.puts[0];
        if (!put) throw new Error('no put response');
        if (put.status === Status.UNEXPECTED_VERSION_ID) return { type: 'unexpected-version' };
        if (put.status === Status.SESSION_DOES_NOT_EXIST) return { type: 'session-gone' };
        if (put.status !== Status.OK) throw new Error(`put status ${put.status}`);
        return { type: 'ok', versionId: put.version?.versionId as bigint };
      }
      case 'delete': {
        const response = await api.write(shard, { shard, puts: [], deletes: [{ key: input.key, expectedVersionId: input.expectedVersion }], deleteRanges: [] }, NAMESPACE);
        const del = response.deletes[0];
        if (!del) throw new Error('no delete response');
        if (del.status === Status.KEY_NOT_FOUND) return { type: 'not-found' };
        if (del.status === Status.UNEXPECTED_VERSION_ID) return { type: 'unexpected-version' };
        if (del.status !== Status.OK) throw new Error(`delete status ${del.status}`);
        return { type: 'ok' };
      }
      case 'get': {
        for await (const response of api.read(shard, { shard, gets: [{ key: input.key, includeValue: true, comparisonType: KeyComparisonType.EQUAL }] }, signal)) {
          const get = response.gets[0];
          if (!get) continue;
          if (get.status === Status.KEY_NOT_FOUND) return { type: 'not-found' };
          if (get.status !== Status.OK) throw new Error(`get status ${get.status}`);
          return { type: 'ok', value: get.value ? Buffer.from(get.value).toString() : '', versionId: get.version?.versionId as bigint };
        }
        throw new Error('no get response');
      }
      case 'session-end':
        throw new Error('a session ends through closeSession, not as an operation');
    }
  }

  /**
   * The shard of a key and where its leader is. Like a real client, each client keeps the
   * leader it last used until a call fails; then it takes the newest cluster status's (what
   * the assignments stream would tell it).
   */
  private route(client: string, key: string, random: SeededRandom): { shard: bigint; node: string } | undefined {
    const shards = this.world.status.latest()?.namespaces.get(NAMESPACE)?.shards;
    if (!shards) return undefined;
    const hash = routingHash(key);
    for (const [shard, meta] of shards) {
      if (meta.status === 'Deleting' || hash < meta.int32HashRange.min || hash > meta.int32HashRange.max) continue;
      const cached = this.leaders.get(`${client}/${shard}`);
      const node = cached ?? meta.leader?.internal ?? random.pick(this.world.nodes).address.internal;
      this.leaders.set(`${client}/${shard}`, node);
      return { shard, node };
    }
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.world.scheduler.schedule(ms, resolve));
  }
}
