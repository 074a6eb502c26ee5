/**
 * Values that Oxia clients send in call metadata rather than in messages: a
 * WriteStream names its shard ("shard-id") and namespace ("namespace") this way.
 * Each reader returns the value or throws an InvalidArgument OxiaError that says
 * what is wrong, so the handler can answer INVALID_ARGUMENT.
 */
import type { Metadata } from '@grpc/grpc-js';
import { invalidArgument } from '../../domain/errors/oxia-error.js';

export const METADATA_SHARD_ID = 'shard-id';
export const METADATA_NAMESPACE = 'namespace';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function readSingle(metadata: Metadata, key: string): string {
  const values = metadata.get(key);
  if (values.length === 0) throw invalidArgument(`the call must carry the '${key}' metadata field`);
  if (values.length > 1) throw invalidArgument(`the call must carry the '${key}' metadata field only once`);
  const value = values[0];
  if (typeof value !== 'string') throw invalidArgument(`the '${key}' metadata field must be text`);
  return value;
}

/** The shard id as a decimal int64. */
export function readShardIdMetadata(metadata: Metadata): bigint {
  const text = readSingle(metadata, METADATA_SHARD_ID).trim();
  if (!/^-?\d{1,19}$/.test(text)) {
    throw invalidArgument(`the '${METADATA_SHARD_ID}' metadata field must be a decimal shard id, got '${text}'`);
  }
  const shard = BigInt(text);
  if (shard < INT64_MIN || shard > INT64_MAX) {
    throw invalidArgument(`the '${METADATA_SHARD_ID}' metadata field is out of the int64 range: '${text}'`);
  }
  return shard;
}

export function readNamespaceMetadata(metadata: Metadata): string {
  const namespace = readSingle(metadata, METADATA_NAMESPACE);
  if (namespace === '') throw invalidArgument(`the '${METADATA_NAMESPACE}' metadata field must not be empty`);
  return namespace;
}
