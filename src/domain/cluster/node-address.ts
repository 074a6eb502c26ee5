/**
 * A storage node as the coordinator and the cluster status know it: the address clients
 * use (public), the address nodes and the coordinator use among themselves (internal),
 * and optionally a stable name (Oxia's DataServerIdentity).
 */
export interface NodeAddress {
  /** Stable identity when the operator gave one (config) or discovery knows one (pod name). */
  readonly name?: string;
  readonly public: string;
  readonly internal: string;
}

/**
 * The key a node is known by: its name when it has one, else its internal address, as in
 * Oxia, so that a node keeps its identity when only its public address changes.
 */
export function nodeId(node: NodeAddress): string {
  return node.name ?? node.internal;
}

export function sameNodeAddress(a: NodeAddress, b: NodeAddress): boolean {
  return a.name === b.name && a.public === b.public && a.internal === b.internal;
}

/** `host:port` with a non-empty host and a port from 1 to 65535 (IPv6 hosts in brackets). */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

export function isHostPort(address: string): boolean {
  const m = HOST_PORT.exec(address);
  if (!m) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535;
}

/** Nodes ordered by id, so that lists from different sources compare equal. */
export function sortNodes(nodes: readonly NodeAddress[]): NodeAddress[] {
  return [...nodes].sort((a, b) => (nodeId(a) < nodeId(b) ? -1 : nodeId(a) > nodeId(b) ? 1 : 0));
}

export function sameNodeList(a: readonly NodeAddress[], b: readonly NodeAddress[]): boolean {
  return a.length === b.length && a.every((n, i) => sameNodeAddress(n, b[i]!));
}
