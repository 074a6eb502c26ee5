import { randomUUID } from 'node:crypto';
import type { Authentication } from './auth.js';
import { InvalidOptionsError } from './errors.js';
import type { ComparisonType } from './types.js';

/** Where the client reports what it cannot throw (background reconnects, lost sessions). */
export interface ClientLogger {
  warn(message: string): void;
  debug?(message: string): void;
}

/**
 * TLS to the servers (PEM contents, as read from files). Without `ca` the server certificate
 * must come from a CA the system trusts; `cert` and `key` make it mutual TLS.
 */
export interface ClientTlsOptions {
  /** CA certificates (PEM) the servers' certificates must come from. Default: the system's roots. */
  ca?: string | Buffer | undefined;
  /** Client certificate (PEM) for servers that require one; with `key`. */
  cert?: string | Buffer | undefined;
  /** Private key (PEM) of `cert`. */
  key?: string | Buffer | undefined;
  /** Name the servers' certificates must carry (and the SNI sent) instead of the host dialled. */
  serverName?: string | undefined;
  /** Accept any server certificate: testing only. */
  insecureSkipVerify?: boolean | undefined;
}

/**
 * Options of `OxiaClient.connect`. The first group mirrors the official Oxia Node client;
 * the batching group carries the Oxia (Go) client's knobs and defaults; the rest bound
 * the client's memory.
 */
export interface OxiaClientOptions {
  /** Oxia namespace. Default `default`. */
  namespace?: string | undefined;
  /** How long `connect` waits for the first shard assignments. Default: `requestTimeoutMs`. */
  initTimeoutMs?: number | undefined;
  /** Session timeout for ephemeral records (at least 2000 unless `heartbeatIntervalMs` is set). Default 15 s. */
  sessionTimeoutMs?: number | undefined;
  /** Heartbeat period of sessions; below `sessionTimeoutMs`. Default a tenth of the session timeout. */
  heartbeatIntervalMs?: number | undefined;
  /** Identity stored on ephemeral records. Default a random UUID. */
  clientIdentifier?: string | undefined;
  /** Deadline of every operation, retries included. Default 30 s. */
  requestTimeoutMs?: number | undefined;
  /** Credentials attached to every call. */
  authentication?: Authentication | undefined;
  /** Connect over TLS (every server the client is sent to, too). Default: plaintext. */
  tls?: ClientTlsOptions | undefined;

  /**
   * The longest a batch waits for more operations while another batch of its shard is
   * out and a slot is free; 0 sends whenever a slot is free. An operation for a shard with
   * nothing in flight is sent at once, whatever this is. Default 5 ms.
   */
  batchLingerMs?: number | undefined;
  /** Operations per batch before it is sent. Default 1000. */
  maxRequestsPerBatch?: number | undefined;
  /** Bytes of keys and values per write batch before it is sent. Default 128 KiB. */
  maxBatchSizeBytes?: number | undefined;

  /** Operations queued or in flight at once; further calls wait (backpressure). Default 10 000. */
  maxPendingRequests?: number | undefined;
  /** Bytes of keys and values queued or in flight at once; further calls wait. Default 64 MiB. */
  maxPendingBytes?: number | undefined;
  /**
   * The namespace's key order, used to pick the nearest of the shards' answers to a non-EQUAL
   * or index get. `list` and `rangeScan` merge shards by Oxia's CompareWithSlash, as the
   * official clients do, whatever this says. Default `hierarchical`.
   */
  keySorting?: 'hierarchical' | 'natural' | undefined;
  /** Receives warnings about background work. Default: `console.warn`. */
  logger?: ClientLogger | undefined;
}

export interface PutOptions {
  /** Route by this key instead of the record key: records sharing it live on one shard. */
  partitionKey?: string | undefined;
  /** Write only if the record has this version; `EXPECTED_RECORD_DOES_NOT_EXIST` (-1) for "must not exist". */
  expectedVersionId?: number | undefined;
  /** Tie the record to this client's session: it is removed when the session ends. */
  ephemeral?: boolean | undefined;
  /** Secondary index entries, `{ indexName: secondaryKey }`. */
  secondaryIndexes?: Record<string, string> | undefined;
  /** Let the server append sequence suffixes; needs `partitionKey`, excludes `expectedVersionId`. */
  sequenceKeysDeltas?: number[] | undefined;
}

export interface DeleteOptions {
  partitionKey?: string | undefined;
  expectedVersionId?: number | undefined;
}

export interface DeleteRangeOptions {
  /** Only the shard owning this partition key; without it every shard. */
  partitionKey?: string | undefined;
}

export interface GetOptions {
  partitionKey?: string | undefined;
  /** Default `EQUAL`. Other comparisons query every shard unless a partition key is given. */
  comparisonType?: ComparisonType | undefined;
  /** Default true; false returns metadata only. */
  includeValue?: boolean | undefined;
  /** Look the key up as a secondary key of this index. */
  useIndex?: string | undefined;
}

export interface ListOptions {
  partitionKey?: string | undefined;
  /** Treat the bounds as secondary keys of this index. */
  useIndex?: string | undefined;
  /**
   * Also return the server's own records in the range ("__oxia/..." keys: sessions,
   * notifications, index entries), as Oxia's `include_internal_keys`. For inspection;
   * a server with an authorization policy refuses it to callers limited to a key prefix.
   */
  includeInternalKeys?: boolean | undefined;
}

export interface RangeScanOptions {
  partitionKey?: string | undefined;
  useIndex?: string | undefined;
  /** As ListOptions.includeInternalKeys. */
  includeInternalKeys?: boolean | undefined;
}

export interface SequenceUpdatesOptions {
  /** The partition key the sequence's puts used. Required. */
  partitionKey: string;
}

/** The options after defaults and validation. */
export interface ClientConfig {
  readonly serviceAddress: string;
  readonly namespace: string;
  readonly initTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number | undefined;
  readonly clientIdentifier: string;
  readonly requestTimeoutMs: number;
  readonly authentication: Authentication | undefined;
  readonly tls: ClientTlsOptions | undefined;
  readonly batchLingerMs: number;
  readonly maxRequestsPerBatch: number;
  readonly maxBatchSizeBytes: number;
  readonly maxPendingRequests: number;
  readonly maxPendingBytes: number;
  readonly keySorting: 'hierarchical' | 'natural';
  readonly logger: ClientLogger;
}

export const DEFAULTS = {
  namespace: 'default',
  requestTimeoutMs: 30_000,
  sessionTimeoutMs: 15_000,
  batchLingerMs: 5,
  maxRequestsPerBatch: 1000,
  maxBatchSizeBytes: 128 * 1024,
  maxPendingRequests: 10_000,
  maxPendingBytes: 64 * 1024 * 1024,
} as const;

const consoleLogger: ClientLogger = { warn: (m) => console.warn(`oxia-ts client: ${m}`) };

function checkNumber(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionsError(`${name} must be a number >= ${min}, got ${String(value)}`);
  }
}

function checkTls(tls: ClientTlsOptions | undefined): void {
  if (tls === undefined) return;
  if (typeof tls !== 'object' || tls === null) throw new InvalidOptionsError('tls must be an object');
  for (const name of ['ca', 'cert', 'key'] as const) {
    const v = tls[name];
    if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v)) throw new InvalidOptionsError(`tls.${name} must be PEM text or a Buffer`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InvalidOptionsError('tls.cert and tls.key go together');
  if (tls.serverName !== undefined && (typeof tls.serverName !== 'string' || tls.serverName === '')) throw new InvalidOptionsError('tls.serverName must be a non-empty string');
}

export function resolveOptions(serviceAddress: string, o: OxiaClientOptions = {}): ClientConfig {
  if (typeof serviceAddress !== 'string' || serviceAddress.trim() === '') {
    throw new InvalidOptionsError('serviceAddress must be a non-empty "host:port" string');
  }
  if (o.namespace !== undefined && (typeof o.namespace !== 'string' || o.namespace === '')) {
    throw new InvalidOptionsError('namespace must be a non-empty string');
  }
  if (o.clientIdentifier !== undefined && (typeof o.clientIdentifier !== 'string' || o.clientIdentifier === '')) {
    throw new InvalidOptionsError('clientIdentifier must be a non-empty string');
  }
  checkNumber('requestTimeoutMs', o.requestTimeoutMs, 1);
  checkNumber('initTimeoutMs', o.initTimeoutMs, 1);
  checkNumber('sessionTimeoutMs', o.sessionTimeoutMs, 1);
  checkNumber('heartbeatIntervalMs', o.heartbeatIntervalMs, 1);
  checkNumber('batchLingerMs', o.batchLingerMs, 0);
  checkNumber('maxRequestsPerBatch', o.maxRequestsPerBatch, 1);
  checkNumber('maxBatchSizeBytes', o.maxBatchSizeBytes, 1);
  checkNumber('maxPendingRequests', o.maxPendingRequests, 1);
  checkNumber('maxPendingBytes', o.maxPendingBytes, 1);
  if (o.keySorting !== undefined && o.keySorting !== 'hierarchical' && o.keySorting !== 'natural') {
    throw new InvalidOptionsError(`keySorting must be 'hierarchical' or 'natural', got ${String(o.keySorting)}`);
  }
  checkTls(o.tls);
  const requestTimeoutMs = o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  return {
    serviceAddress: serviceAddress.trim(),
    namespace: o.namespace ?? DEFAULTS.namespace,
    initTimeoutMs: o.initTimeoutMs ?? requestTimeoutMs,
    sessionTimeoutMs: o.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    clientIdentifier: o.clientIdentifier ?? randomUUID(),
    requestTimeoutMs,
    authentication: o.authentication,
    tls: o.tls,
    batchLingerMs: o.batchLingerMs ?? DEFAULTS.batchLingerMs,
    maxRequestsPerBatch: Math.floor(o.maxRequestsPerBatch ?? DEFAULTS.maxRequestsPerBatch),
    maxBatchSizeBytes: o.maxBatchSizeBytes ?? DEFAULTS.maxBatchSizeBytes,
    maxPendingRequests: Math.floor(o.maxPendingRequests ?? DEFAULTS.maxPendingRequests),
    maxPendingBytes: o.maxPendingBytes ?? DEFAULTS.maxPendingBytes,
    keySorting: o.keySorting ?? 'hierarchical',
    logger: o.logger ?? consoleLogger,
  };
}

/** Sessions shorter than this need an explicit heartbeat interval (as in the official client). */
export const MIN_DEFAULT_SESSION_TIMEOUT_MS = 2000;

/**
 * The heartbeat period: the explicit one, else a tenth of the session timeout, so about
 * ten heartbeats fit in one timeout and a few lost ones do not end the session.
 * Throws RangeError like the official client for combinations that cannot work.
 */
export function heartbeatIntervalFor(sessionTimeoutMs: number, heartbeatIntervalMs: number | undefined): number {
  if (heartbeatIntervalMs !== undefined) {
    if (heartbeatIntervalMs <= 0) throw new RangeError('heartbeatIntervalMs must be greater than zero');
    if (heartbeatIntervalMs >= sessionTimeoutMs) {
      throw new RangeError('heartbeatIntervalMs must be smaller than sessionTimeoutMs');
    }
    return heartbeatIntervalMs;
  }
  if (sessionTimeoutMs < MIN_DEFAULT_SESSION_TIMEOUT_MS) {
    throw new RangeError(
      `sessionTimeoutMs must be at least ${MIN_DEFAULT_SESSION_TIMEOUT_MS} ms when heartbeatIntervalMs is not given (got ${sessionTimeoutMs})`,
    );
  }
  return Math.max(1, Math.floor(sessionTimeoutMs / 10));
}
