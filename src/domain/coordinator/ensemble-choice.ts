import type { AntiAffinity, ServerMetadata } from '../cluster/cluster-config.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';

/**
 * Choosing the storage nodes of a shard (its ensemble), one replica at a time as Oxia's
 * ensemble selector does:
 *
 * 1. anti-affinity rules narrow the candidates to nodes whose labels differ from the
 *    replicas already chosen (a node without the label cannot be told apart, so it does not
 *    qualify); a strict rule that no node meets fails the choice, a relaxed one is dropped;
 * 2. of what is left, the nodes holding the fewest replicas win (this is what spreads load);
 * 3. ties are broken deterministically by rotating over the tied node ids with the shard id,
 *    so shards created together start on different nodes (Oxia hashes for the same effect).
 */
export interface PlacementContext {
  readonly namespace: string;
  readonly shard: bigint;
  /** The nodes that may hold replicas (the current members), in any order. */
  readonly candidates: readonly NodeAddress[];
  /** Replicas per node id (domain/coordinator/node-load.ts); absent means none. */
  readonly load: ReadonlyMap<string, number>;
  readonly antiAffinities: readonly AntiAffinity[];
  /** Labels by node id (the config's serverMetadata). */
  readonly serverMetadata: ReadonlyMap<string, ServerMetadata>;
}

export type EnsembleChoice = { readonly ok: true; readonly ensemble: NodeAddress[] } | { readonly ok: false; readonly reason: string };
export type ReplacementChoice = { readonly ok: true; readonly node: NodeAddress } | { readonly ok: false; readonly reason: string };

export function chooseEnsemble(ctx: PlacementContext, replicas: number): EnsembleChoice {
  if (!Number.isInteger(replicas) || replicas < 1) return { ok: false, reason: `replication factor must be a positive integer, got ${replicas}` };
  const distinct = new Set(ctx.candidates.map(nodeId)).size;
  if (distinct < replicas) {
    return { ok: false, reason: `shard ${ctx.namespace}/${ctx.shard} needs ${replicas} servers but only ${distinct} are available` };
  }
  const chosen: NodeAddress[] = [];
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const pick = pickOne(ctx, chosen, []);
    if (!pick.ok) return pick;
    chosen.push(pick.node);
  }
  return { ok: true, ensemble: chosen };
}

/**
 * A node to take over one replica of a shard: `keep` are the replicas that stay, `exclude`
 * are nodes that must not be chosen (the one being replaced, nodes leaving the cluster).
 */
export function chooseReplacement(ctx: PlacementContext, keep: readonly NodeAddress[], exclude: readonly NodeAddress[]): ReplacementChoice {
  return pickOne(ctx, keep, exclude);
}

function pickOne(ctx: PlacementContext, selected: readonly NodeAddress[], exclude: readonly NodeAddress[]): ReplacementChoice {
  const taken = new Set([...selected, ...exclude].map(nodeId));
  const seen = new Set<string>();
  let pool = ctx.candidates.filter((n) => {
    const id = nodeId(n);
    if (taken.has(id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  if (pool.length === 0) {
    return { ok: false, reason: `no server left to place a replica of shard ${ctx.namespace}/${ctx.shard} on` };
  }

  for (const rule of ctx.antiAffinities) {
    const usedValues = rule.labels.map((label) => new Set(selected.map((n) => labelOf(ctx, n, label)).filter((v) => v !== undefined)));
    const apart = pool.filter((n) =>
      rule.labels.every((label, i) => {
        const value = labelOf(ctx, n, label);
        return value !== undefined && !usedValues[i]!.has(value);
      }),
    );
    if (apart.length > 0) {
      pool = apart;
    } else if (rule.mode === 'strict') {
      return {
        ok: false,
        reason: `shard ${ctx.namespace}/${ctx.shard}: no server satisfies the strict anti-affinity on labels [${rule.labels.join(', ')}]`,
      };
    }
    // relaxed: the rule is a preference; with nobody meeting it, it is dropped.
  }

  const loadOf = (n: NodeAddress): number => ctx.load.get(nodeId(n)) ?? 0;
  const least = Math.min(...pool.map(loadOf));
  const tied = pool.filter((n) => loadOf(n) === least).sort((a, b) => compareIds(nodeId(a), nodeId(b)));
  const index = Number((ctx.shard + BigInt(selected.length)) % BigInt(tied.length));
  return { ok: true, node: tied[index]! };
}

function labelOf(ctx: PlacementContext, node: NodeAddress, label: string): string | undefined {
  return ctx.serverMetadata.get(nodeId(node))?.labels[label];
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
