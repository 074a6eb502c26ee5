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
];

export function findDefect(name: string): Defect {
  const defect = DEFECTS.find((d) => d.name === name);
  if (!defect) throw new Error(`unknown defect "${name}"; --list-defects lists them`);
  return defect;
}
