import { xxh3 } from '@node-rs/xxhash';

/**
 * The 32-bit routing hash of a key: the low 32 bits of XXH3-64 with seed 0,
 * as Oxia clients compute it. Range bounds are compared against this value.
 */
export function routingHash(key: string): number {
  // The string goes to the native hash as is (it hashes the UTF-8 bytes, seed 0 by default):
  // no Buffer per call on the client's hot path.
  return Number(BigInt.asUintN(32, xxh3.xxh64(key)));
}

/** The key that routes a record: its partition key when one is given (even ''), else the key. */
export function routingKey(key: string, partitionKey: string | undefined): string {
  return partitionKey ?? key;
}
