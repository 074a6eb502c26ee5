import type { DiskFaults } from '../../src/adapters/simulation/sim-disk.js';
import type { NetworkFaults } from '../../src/adapters/simulation/sim-network.js';

/**
 * Deliberate defects the simulator can switch on (`--inject NAME`). The checker is only
 * trusted when it is seen to fail: each of these must be caught within 300 seeds.
 */
export interface Defect {
  readonly name: string;
  readonly description: string;
  readonly disk?: Partial<DiskFaults>;
  readonly network?: Partial<NetworkFaults>;
  /** The first node's clock rate (see WorldOptions). */
  readonly clockRate?: number;
  /** A node keeps answering reads of a shard it led, from its own store, after losing the leadership (tests/sim/fenced-leader-reads.ts). */
  readonly fencedLeaderReads?: boolean;
}

export const DEFECTS: readonly Defect[] = [
  {
    name: 'ack-before-fsync',
    description: 'the log acknowledges an append before its fsync: a power loss takes acknowledged writes',
    disk: { ackBeforeFsync: true },
  },
  {
    name: 'commit-without-quorum',
    description: 'the network acknowledges appends for followers that never got them: the leader commits alone',
    network: { forgedAcks: true },
  },
  {
    name: 'store-drops-writes',
    description: 'the key-value store silently loses some of the records a write carries',
    disk: { storeDropsWrites: true },
  },
  {
    name: 'slow-clock',
    description: "one node's clock runs at a quarter of the speed, far past the drift bound the read lease assumes (ADR 0024)",
    clockRate: 0.25,
  },
  {
    name: 'version-reuse',
    description: "a restarted replica's store has lost the shard's last version id: its new puts reuse version ids",
    disk: { forgetsLastVersionId: true },
  },
  {
    name: 'stale-term-append',
    description: "Append streams reach followers without the leader's term, as if they skipped the term check: a deposed leader's appends are taken",
    network: { staleTermAppends: true },
  },
  {
    name: 'fenced-leader-reads',
    description: 'a node that led a shard keeps answering its reads from its own store after it was fenced or follows another leader',
    fencedLeaderReads: true,
  },
];

export function findDefect(name: string): Defect {
  const defect = DEFECTS.find((d) => d.name === name);
  if (!defect) throw new Error(`unknown defect "${name}"; --list-defects lists them`);
  return defect;
}
