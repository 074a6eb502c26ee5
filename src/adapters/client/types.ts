/**
 * Result and option value types of the public API. Names, shapes and numeric values
 * follow the official Oxia Node client so results compare equal across the two.
 */

/**
 * How `get` matches its key. `EQUAL` (the default) is an exact lookup; the others
 * probe the sorted key space and return the nearest record in one direction.
 * The numbers are the wire values of Oxia's `KeyComparisonType`.
 */
export const ComparisonType = {
  /** Exactly this key. */
  EQUAL: 0,
  /** The highest key `<=` the given one. */
  FLOOR: 1,
  /** The lowest key `>=` the given one. */
  CEILING: 2,
  /** The highest key strictly `<` the given one. */
  LOWER: 3,
  /** The lowest key strictly `>` the given one. */
  HIGHER: 4,
} as const;
export type ComparisonType = (typeof ComparisonType)[keyof typeof ComparisonType];

/** `expectedVersionId` value asserting that the key does not exist yet. */
export const EXPECTED_RECORD_DOES_NOT_EXIST = -1;

/** Metadata of a stored record; timestamps come from the server's clock. */
export class Version {
  /** Server-assigned, increases with every write; pass it back as `expectedVersionId`. */
  readonly versionId: number;
  /** Writes since the record was (re)created; 0 on creation. */
  readonly modificationsCount: number;
  readonly createdTimestamp: Date;
  readonly modifiedTimestamp: Date;
  /** The owning session for ephemeral records, else undefined. */
  readonly sessionId?: number;
  /** The identity of the client that wrote an ephemeral record, else undefined. */
  readonly clientIdentity?: string;

  constructor(params: {
    versionId: number;
    modificationsCount: number;
    createdTimestamp: Date;
    modifiedTimestamp: Date;
    sessionId?: number | undefined;
    clientIdentity?: string | undefined;
  }) {
    this.versionId = params.versionId;
    this.modificationsCount = params.modificationsCount;
    this.createdTimestamp = params.createdTimestamp;
    this.modifiedTimestamp = params.modifiedTimestamp;
    // Assigned only when present, so that a non-ephemeral Version has no such own keys.
    if (params.sessionId !== undefined) this.sessionId = params.sessionId;
    if (params.clientIdentity !== undefined) this.clientIdentity = params.clientIdentity;
  }

  /** True for records tied to a session (written with `{ ephemeral: true }`). */
  isEphemeral(): boolean {
    return this.sessionId !== undefined;
  }
}

export interface PutResult {
  /** The stored key: the given key, or the server-chosen one for sequence keys. */
  key: string;
  version: Version;
}

export interface GetResult {
  /** The matched record's key (for non-EQUAL and index lookups, not the probe). */
  key: string;
  /** The value, or undefined when `includeValue: false` was given. */
  value: Uint8Array | undefined;
  version: Version;
}

/** The kind of change a notification reports (wire values of Oxia's `NotificationType`). */
export const NotificationType = {
  KEY_CREATED: 0,
  KEY_MODIFIED: 1,
  KEY_DELETED: 2,
  KEY_RANGE_DELETED: 3,
} as const;
export type NotificationType = (typeof NotificationType)[keyof typeof NotificationType];

export interface Notification {
  key: string;
  type: NotificationType;
  /** The record's new version id; 0 for deletions. */
  versionId: number;
  /** For KEY_RANGE_DELETED: the exclusive end of the deleted range. */
  keyRangeEnd?: string;
}

/**
 * An async iterable subscription. `close()` (or leaving a `for await` loop) stops it
 * and ends the iteration; it is idempotent.
 */
export interface CloseableAsyncIterable<T> extends AsyncIterable<T> {
  close(): void;
}
