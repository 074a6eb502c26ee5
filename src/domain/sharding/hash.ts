import { xxh3 } from '@node-rs/xxhash';

/**
 * The 32-bit routing hash of a key: the low 32 bits of XXH3-64 with seed 0,
 * as Oxia clients compute it. Range bounds are compared against this value.
 */
export function routingHash(key: string): number {
  return Number(xxh3.xxh64(Buffer.from(key, 'utf8'), 0n) & 0xffff_ffffn);
}

/** The key that routes a record: its partition key when one is given (even ''), else the key. */
export function routingKey(key: string, partitionKey: string | undefined): string {
  return partitionKey ?? key;
}
