import type { ServiceIdentifier } from 'inversify';

/**
 * Chance crosses a port (retry jitter, random choices) so that a simulation can replay a
 * run from its seed. A float in [0, 1), as Math.random.
 */
export type RandomSource = () => number;
export const RandomSource: ServiceIdentifier<RandomSource> = Symbol.for('oxia.RandomSource');
