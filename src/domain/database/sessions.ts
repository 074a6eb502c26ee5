import { internalChildrenRange } from '../keys/key-encoder.js';
import { SESSIONS_PREFIX, parseSessionKey, sessionKey } from '../keys/internal-keys.js';
import type { DeleteRequest, PutRequest } from '../wire/client.js';
import { SessionMetadata, StorageEntry } from '../wire/storage.js';
import type { KvReadView } from './kv-view.js';
import { INTERNAL_ENCODER } from './records.js';

/**
 * Sessions as stored state: a session exists while its record
 * "__oxia/session/<id>" (value: SessionMetadata) exists. Ephemeral records of a
 * session have a shadow one level below it; deleting the record deletes them.
 */
export { parseSessionKey, sessionKey };

/** The put that registers a session; its id must be the offset of the entry carrying it. */
export function sessionPutRequest(sessionId: bigint, metadata: SessionMetadata): PutRequest {
  return {
    key: sessionKey(sessionId),
    value: Buffer.from(SessionMetadata.encode(metadata).finish()),
    sequenceKeyDelta: [],
    secondaryIndexes: [],
  };
}

/** The delete that ends a session and removes its ephemeral records. */
export function sessionDeleteRequest(sessionId: bigint): DeleteRequest {
  return { key: sessionKey(sessionId) };
}

/** Decodes a session record's value; undefined when it is not valid metadata. */
export function decodeSessionMetadata(value: Uint8Array): SessionMetadata | undefined {
  try {
    return SessionMetadata.decode(value);
  } catch {
    return undefined;
  }
}

/** Every registered session with its metadata (records that fail to decode are skipped). */
export async function readSessions(view: KvReadView): Promise<Map<bigint, SessionMetadata>> {
  const sessions = new Map<bigint, SessionMetadata>();
  // Shadows are one level deeper, so this range holds session records only.
  for await (const e of view.range(internalChildrenRange(SESSIONS_PREFIX))) {
    const id = parseSessionKey(INTERNAL_ENCODER.decode(e.key));
    if (id === undefined) continue;
    let metadata: SessionMetadata | undefined;
    try {
      metadata = SessionMetadata.decode(StorageEntry.decode(e.value).value);
    } catch {
      metadata = undefined;
    }
    if (metadata) sessions.set(id, metadata);
  }
  return sessions;
}
