import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { KeyComparisonType, Status } from '../../src/domain/wire/client.js';
import type { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { Incarnation } from '../../src/adapters/simulation/virtual-time.js';
import type { KvInput, KvOperation, KvOutput } from './kv-history.js';
import { NAMESPACE, type SimWorld } from './sim-world.js';

const OP_TIMEOUT_MS = 1_000;

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
        const input = this.chooseInput(random, key, seen, name);
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
        const response = await api.write(
          shard,
          {
            shard,
            puts: [{ key: input.key, value: Buffer.from(input.value), expectedVersionId: input.expectedVersion, sequenceKeyDelta: [], secondaryIndexes: [] }],
            deletes: [],
            deleteRanges: [],
          },
          NAMESPACE,
        );
        const put = response.puts[0];
        if (!put) throw new Error('no put response');
        if (put.status === Status.UNEXPECTED_VERSION_ID) return { type: 'unexpected-version' };
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
