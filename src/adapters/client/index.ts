/**
 * oxia-ts client library: `import { OxiaClient } from 'oxia-ts'`.
 * The exports mirror the official Oxia Node.js client (`@oxia-db/client`), so switching
 * is a matter of changing the import.
 */
export { OxiaClient, type SessionLostEvent } from './oxia-client.js';
export type {
  ClientLogger,
  ClientTlsOptions,
  DeleteOptions,
  DeleteRangeOptions,
  GetOptions,
  ListOptions,
  OxiaClientOptions,
  PutOptions,
  RangeScanOptions,
  SequenceUpdatesOptions,
} from './options.js';
export {
  InvalidOptionsError,
  KeyNotFoundError,
  OxiaError,
  RequestTimeoutError,
  SessionDoesNotExistError,
  SessionNotFoundError,
  UnexpectedVersionIdError,
  type OxiaErrorKind,
} from './errors.js';
export {
  ComparisonType,
  EXPECTED_RECORD_DOES_NOT_EXIST,
  NotificationType,
  Version,
  type CloseableAsyncIterable,
  type GetResult,
  type Notification,
  type PutResult,
} from './types.js';
export { TokenAuthentication, type Authentication } from './auth.js';
// Coordination recipes on ephemeral records, sequence keys and notifications.
export { Lock, type LockOptions } from './recipes/lock.js';
export { LeaderElection, type LeaderElectionOptions, type LeaderInfo } from './recipes/leader-election.js';
export { AcquireTimeoutError, OwnershipLostError } from './recipes/errors.js';
export type { AcquireOptions } from './recipes/ownership.js';
