import { invalidArgument } from '../errors/oxia-error.js';
import { minBytes } from '../keys/bytes.js';
import { INTERNAL_REGION_START, type KeyEncoder } from '../keys/key-encoder.js';
import type { KvReadView } from './kv-view.js';

/**
 * Sequence keys: a put with sequence_key_delta gets the key "<prefix>-%020d[-%020d...]",
 * each part the matching part of the highest existing key under the prefix plus the
 * delta (0 where the existing key has fewer parts). Oxia's rules, including its quirks:
 * the "highest existing key" is the greatest key below "<prefix>-<2^64-1>" that starts
 * with the prefix, and its parts are whatever follows each '-'.
 */
export const SEQUENCE_VALUE_MAX = 18446744073709551615n; // 2^64 - 1
const INT64_MAX = 9223372036854775807n;

export function sequencePart(value: bigint): string {
  return value.toString().padStart(20, '0');
}

/** Reads an existing part as Go's Sscanf("%020d") does: up to 20 characters, leading digits. */
function parsePart(part: string, existingKey: string): bigint {
  const m = /^\+?(\d+)/.exec(part.slice(0, 20));
  if (!m) throw invalidArgument(`existing key ${JSON.stringify(existingKey)} has a non-numeric sequence suffix`);
  const v = BigInt(m[1]!);
  if (v > SEQUENCE_VALUE_MAX) {
    throw invalidArgument(`existing key ${JSON.stringify(existingKey)} has a sequence suffix above 2^64-1`);
  }
  return v;
}

/** The highest key under `prefix` by Oxia's lookup, or undefined. */
async function lastKeyInSequence(view: KvReadView, encoder: KeyEncoder, prefix: string): Promise<string | undefined> {
  const bound = encoder.encode(`${prefix}-${sequencePart(SEQUENCE_VALUE_MAX)}`);
  const lt = minBytes(bound, INTERNAL_REGION_START);
  for await (const e of view.range({ lt, reverse: true, limit: 1 })) {
    const key = encoder.decode(e.key);
    return key.startsWith(prefix) ? key : undefined;
  }
  return undefined;
}

/** The key a sequence put gets. Throws InvalidArgument for misuse Oxia rejects. */
export async function nextSequenceKey(
  view: KvReadView,
  encoder: KeyEncoder,
  prefix: string,
  deltas: readonly bigint[],
): Promise<string> {
  const last = await lastKeyInSequence(view, encoder, prefix);
  const parts = last === undefined ? [] : last.slice(prefix.length).split('-').slice(1);
  if (parts.length > deltas.length) {
    throw invalidArgument(
      `sequence put on ${JSON.stringify(prefix)} has ${deltas.length} delta(s) but the existing sequence key ` +
        `${JSON.stringify(last)} has ${parts.length} part(s)`,
    );
  }
  let key = prefix;
  for (let i = 0; i < deltas.length; i++) {
    const delta = deltas[i]!;
    if (i === 0 && delta === 0n) throw invalidArgument('the first sequence key delta must be greater than 0');
    if (delta < 0n || delta > SEQUENCE_VALUE_MAX) throw invalidArgument(`sequence key delta ${delta} is out of range`);
    const base = i < parts.length ? parsePart(parts[i]!, last!) : 0n;
    const next = base + delta;
    if (next > SEQUENCE_VALUE_MAX) throw invalidArgument(`sequence ${JSON.stringify(prefix)} would overflow 2^64-1`);
    key += '-' + sequencePart(next);
  }
  return key;
}

/**
 * The highest key of a sequence, as GetSequenceUpdates reports it: the last key in
 * ["<prefix>-<0>", "<prefix>-<2^63-1>"), user keys only.
 */
export async function highestSequenceKeyWith(
  view: KvReadView,
  encoder: KeyEncoder,
  prefix: string,
): Promise<string | undefined> {
  const gte = encoder.encode(`${prefix}-${sequencePart(0n)}`);
  const lt = minBytes(encoder.encode(`${prefix}-${sequencePart(INT64_MAX)}`), INTERNAL_REGION_START);
  for await (const e of view.range({ gte, lt, reverse: true, limit: 1 })) return encoder.decode(e.key);
  return undefined;
}
