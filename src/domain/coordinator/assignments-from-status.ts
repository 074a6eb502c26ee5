import { allShards, type ClusterStatus } from '../cluster/cluster-status.js';
import type { NodeAddress } from '../cluster/node-address.js';
import { shardAssignmentsMessage, type ShardPlacement } from '../sharding/assignments.js';
import { ShardAssignments } from '../wire/client.js';
import { isUncommittedChild } from './split.js';

/**
 * The ShardAssignments every storage node is told (and passes on to clients): for each
 * namespace, each shard's hash range and the PUBLIC address of its leader ('' while it has
 * none). Shards being deleted are left out, so clients stop routing to them first.
 *
 * allowedAuthorities lists every address a client may legitimately be sent to: the public
 * and internal addresses of the configured servers and of every node the status names, plus
 * the config's extra authorities. Nodes use it to check the authority clients dial.
 */
export function assignmentsFromStatus(status: ClusterStatus, servers: readonly NodeAddress[], extraAuthorities: readonly string[]): ShardAssignments {
  const placements = new Map<string, ShardPlacement[]>();
  for (const name of [...status.namespaces.keys()].sort()) placements.set(name, []);
  for (const { namespace, shard, metadata } of allShards(status)) {
    // A split's children are routed to only once it commits, when the parent turns Deleting.
    if (metadata.status === 'Deleting' || isUncommittedChild(metadata)) continue;
    placements.get(namespace)!.push({ shard, range: metadata.int32HashRange, leader: metadata.leader?.public ?? '' });
  }
  const message = shardAssignmentsMessage(placements);

  const authorities = new Set<string>();
  const add = (n: NodeAddress): void => {
    authorities.add(stripScheme(n.public));
    authorities.add(stripScheme(n.internal));
  };
  servers.forEach(add);
  for (const { metadata } of allShards(status)) {
    metadata.ensemble.forEach(add);
    metadata.removedNodes.forEach(add);
  }
  for (const a of extraAuthorities) authorities.add(stripScheme(a));
  return { ...message, allowedAuthorities: [...authorities] };
}

/** Same content, by encoding (field order and map order are fixed by construction). */
export function sameAssignments(a: ShardAssignments, b: ShardAssignments): boolean {
  const x = ShardAssignments.encode(a).finish();
  const y = ShardAssignments.encode(b).finish();
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

function stripScheme(authority: string): string {
  return authority.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
}
