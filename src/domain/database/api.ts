/**
 * The contract of the database state machine (implemented in this folder, used by
 * the shard controllers). Everything here is deterministic: the same entries applied
 * to the same view give the same ops and responses on every replica.
 */
import type { OxiaError } from '../errors/oxia-error.js';
import type { KeySorting } from '../sharding/namespace.js';
import type {
  GetRequest,
  GetResponse,
  GetSequenceUpdatesResponse,
  NotificationBatch,
  WriteRequest,
  WriteResponse,
} from '../wire/client.js';
import type { LogEntryValue, SessionMetadata } from '../wire/storage.js';
import type { KvOp, KvReadView } from './kv-view.js';

export interface DatabaseConfig {
  readonly keySorting: KeySorting;
  readonly notificationsEnabled: boolean;
  /** The shard id written into notification batches; 0 when absent. */
  readonly shard?: bigint | undefined;
}

/** A committed log entry about to be applied. */
export interface EntryToApply {
  readonly offset: bigint;
  readonly term: bigint;
  /** The leader's timestamp for the entry (ms): record created/modified timestamps come from here. */
  readonly timestampMs: bigint;
  readonly value: LogEntryValue;
}

export interface AppliedEntry {
  /** Everything to write, including the new commit offset marker. */
  readonly ops: KvOp[];
  /** One per WriteRequest of the entry, in order (empty for control entries). */
  readonly responses: WriteResponse[];
  /**
   * Aligned with `responses`: the error that failed a WriteRequest as a whole (e.g. a
   * sequence put with fewer deltas than the existing sequence has). A failed request
   * changed nothing and its response is empty; answer its client with the error.
   */
  readonly errors: ReadonlyArray<OxiaError | undefined>;
  /** The entry's notification batch, when notifications are enabled and anything changed. */
  readonly notifications: NotificationBatch | undefined;
  /** Sequence prefixes (the put's key before suffixes) whose highest key changed, with that key. */
  readonly sequenceUpdates: ReadonlyMap<string, string>;
  /** Sessions registered (a put of a session key) and removed (a delete of one) by this entry. */
  readonly sessionsCreated: ReadonlyMap<bigint, SessionMetadata>;
  readonly sessionsRemoved: readonly bigint[];
}

export interface CommitState {
  /** Offset of the last applied entry, -1 when none. */
  readonly commitOffset: bigint;
  /** Highest term this replica has accepted (persisted by NewTerm), -1 when none. */
  readonly term: bigint;
}

/** What a replica stores with its term (Oxia persists the NewTerm options with it). */
export interface TermOptions {
  readonly notificationsEnabled: boolean;
  readonly keySorting?: KeySorting | undefined;
}

export interface KeyRangeQuery {
  readonly startInclusive: string;
  readonly endExclusive: string;
  readonly secondaryIndexName?: string | undefined;
  readonly includeInternalKeys?: boolean | undefined;
}
