import { nodeId, type NodeAddress } from '../cluster/node-address.js';
import { compareEntryIds, type EntryId } from '../wal/log-entry.js';

/** An ensemble member that accepted the new term, with the head of its log as it answered. */
export interface FencedMember {
  readonly node: NodeAddress;
  readonly head: EntryId;
}

/**
 * The new leader among the members fenced in an election, as Oxia chooses it:
 *
 * - only the members whose head is the highest (term, then offset) may lead: every entry a
 *   majority acknowledged is in at least one fenced member's log, and the highest head holds
 *   it, so electing anyone else could lose an acknowledged write;
 * - among those, the node that leads the fewest shards, to spread leaders;
 * - remaining ties rotate with the shard id over the tied node ids, so shards elected at the
 *   same moment (a fresh cluster) do not all pick the same node.
 *
 * Undefined when `fenced` is empty.
 */
export function chooseLeader(fenced: readonly FencedMember[], leadersPerNode: ReadonlyMap<string, number>, shard: bigint): FencedMember | undefined {
  const best = highestHeads(fenced);
  if (best.length === 0) return undefined;
  const led = (m: FencedMember): number => leadersPerNode.get(nodeId(m.node)) ?? 0;
  const fewest = Math.min(...best.map(led));
  const tied = best.filter((m) => led(m) === fewest).sort((a, b) => (nodeId(a.node) < nodeId(b.node) ? -1 : nodeId(a.node) > nodeId(b.node) ? 1 : 0));
  return tied[Number(shard % BigInt(tied.length))];
}

/** The members whose head is the highest (term, offset) of all. */
export function highestHeads(fenced: readonly FencedMember[]): FencedMember[] {
  let best: FencedMember[] = [];
  for (const m of fenced) {
    const c = best.length === 0 ? 1 : compareEntryIds(m.head, best[0]!.head);
    if (c > 0) best = [m];
    else if (c === 0) best.push(m);
  }
  return best;
}
