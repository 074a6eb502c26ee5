import type { ServiceIdentifier } from 'inversify';

/** A record as the key browser shows it: its value and Oxia's version fields. */
export interface RecordView {
  readonly key: string;
  readonly value: Uint8Array;
  readonly versionId: number;
  readonly modificationsCount: number;
  readonly createdMs: number;
  readonly modifiedMs: number;
  /** Set for ephemeral records. */
  readonly sessionId?: number | undefined;
  readonly clientIdentity?: string | undefined;
}

/** Where and as whom a read goes. */
export interface ReadTarget {
  /** A storage node's public address (any node hands out the shard assignments). */
  readonly serviceAddress: string;
  readonly namespace: string;
  /** The `authorization` value the console's caller presented (forwarded to the servers), if any. */
  readonly authorization: string | undefined;
}

/**
 * Read-only access to a namespace's records through the data API, as any client reads them
 * (the web console's key browser, ADR 0028). Nothing here writes.
 */
export interface KeyReader {
  /**
   * Keys in [minKey, maxKey), in Oxia's order; `partitionKey` reads one shard only; `limit`
   * stops the read after that many keys (the servers' streams are cancelled), so that a page of a
   * large namespace costs a page.
   */
  list(
    target: ReadTarget,
    minKey: string,
    maxKey: string,
    options?: { readonly partitionKey?: string | undefined; readonly includeInternalKeys?: boolean | undefined; readonly limit?: number | undefined },
  ): Promise<string[]>;
  /** The record, or undefined when there is none. */
  get(target: ReadTarget, key: string): Promise<RecordView | undefined>;
  close(): Promise<void>;
}
export const KeyReader: ServiceIdentifier<KeyReader> = Symbol.for('oxia.KeyReader');
