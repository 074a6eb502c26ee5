/** Bounds on client requests; each breach is answered with a clear error naming the limit. */
export interface RequestLimits {
  /** UTF-8 bytes of a key, a partition key, or a secondary key. */
  readonly keySizeBytesMax: number;
  readonly valueSizeBytesMax: number;
  /** Puts + deletes + delete ranges of one WriteRequest, or gets of one ReadRequest. */
  readonly itemsPerRequestMax: number;
  /** Encoded size of one request message; also the gRPC receive limit. */
  readonly requestSizeBytesMax: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  keySizeBytesMax: 64 * 1024,
  valueSizeBytesMax: 8 * 1024 * 1024,
  itemsPerRequestMax: 10_000,
  requestSizeBytesMax: 16 * 1024 * 1024,
});
