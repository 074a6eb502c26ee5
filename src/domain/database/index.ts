/**
 * The database state machine and reads of a shard's store (see api.ts for the
 * contract). Everything here is pure: no I/O beyond the KvReadView it is given.
 */
export type * from './api.js';
export type * from './kv-view.js';
export { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './limits.js';
export { APPLY_CHUNK_KEYS_DEFAULT, type ApplyOptions, applyEntry } from './apply.js';
export { type ApplyProgress, readApplyProgress } from './apply-progress.js';
export { featureOp, readCommitState, readEnabledFeatures, readTermOptions, termOps } from './commit-state.js';
export { MemoryKv } from './memory-kv.js';
export {
  NOTIFICATION_TRIM_OPS_MAX,
  NotificationCollector,
  notificationTrimOps,
  readNotifications,
} from './notifications.js';
export { OverlayView } from './overlay-view.js';
export { NOT_RECALLED, RememberingView } from './remembering-view.js';
export { get, getNow, highestSequenceKey, list, rangeScan } from './reads.js';
export { SEQUENCE_VALUE_MAX, sequencePart } from './sequences.js';
export {
  decodeSessionMetadata,
  parseSessionKey,
  readSessions,
  sessionDeleteRequest,
  sessionKey,
  sessionPutRequest,
} from './sessions.js';
export { SortedByteMap } from './sorted-byte-map.js';
export { validateRange, validateReadRequest, validateWriteRequest } from './validation.js';
