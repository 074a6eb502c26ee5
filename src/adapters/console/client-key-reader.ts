/**
 * The key browser's reads (KeyReader) through the project's own client library: an OxiaClient
 * per (server, namespace, caller's credentials), kept while it is used and closed after a
 * minute idle. Only list and get are ever called: the console writes nothing.
 */
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import type { KeyReader, ReadTarget, RecordView } from '../../application/ports/key-reader.js';
import { Logger } from '../../application/ports/logger.js';
import { KeyNotFoundError, OxiaError as ClientError, type OxiaErrorKind as ClientErrorKind } from '../client/errors.js';
import { OxiaError, type OxiaErrorKind } from '../../domain/errors/oxia-error.js';
import { OxiaClient } from '../client/oxia-client.js';
import type { Authentication } from '../client/auth.js';
import { readTlsMaterial } from '../tls/tls-files.js';
import type { ClientTlsSettings } from '../tls/tls-settings.js';

export interface KeyReaderOptions {
  /** TLS to the servers' public listeners; undefined: plaintext. */
  readonly tls: ClientTlsSettings | undefined;
  /** Bound on each read, retries included. */
  readonly requestTimeoutMs: number;
}
export const KeyReaderOptions: ServiceIdentifier<KeyReaderOptions> = Symbol.for('oxia.KeyReaderOptions');

const IDLE_CLOSE_MS = 60_000;

interface Entry {
  readonly client: Promise<OxiaClient>;
  lastUsedMs: number;
}

/** Sends the console caller's own `authorization` value: the servers decide what it may read. */
function forwarded(authorization: string | undefined): Authentication | undefined {
  return authorization === undefined ? undefined : { generateCredentials: () => ({ authorization }) };
}

/** The client library's failures as the port's (domain) errors: the console maps those to HTTP statuses. */
const DOMAIN_KIND: Partial<Record<ClientErrorKind, OxiaErrorKind>> = {
  Unauthenticated: 'Unauthenticated',
  PermissionDenied: 'PermissionDenied',
  NamespaceNotFound: 'NamespaceNotFound',
  InvalidArgument: 'InvalidArgument',
  LimitExceeded: 'LimitExceeded',
  Unavailable: 'ResourceUnavailable',
  ResourceUnavailable: 'ResourceUnavailable',
  Timeout: 'ResourceUnavailable',
  NodeIsNotLeader: 'ResourceUnavailable',
};

function asDomainError(e: unknown): unknown {
  if (!(e instanceof ClientError)) return e;
  const kind = DOMAIN_KIND[e.kind];
  return kind ? new OxiaError(kind, e.message) : e;
}

@injectable()
export class ClientKeyReader implements KeyReader {
  private readonly clients = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    @inject(KeyReaderOptions) private readonly options: KeyReaderOptions,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'console-key-reader' });
    this.sweeper = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS / 2);
    this.sweeper.unref();
  }

  async list(
    target: ReadTarget,
    minKey: string,
    maxKey: string,
    options: { partitionKey?: string | undefined; includeInternalKeys?: boolean | undefined; limit?: number | undefined } = {},
  ): Promise<string[]> {
    try {
      const client = await this.client(target);
      const { partitionKey, includeInternalKeys, limit } = options;
      if (limit === undefined) return await client.list(minKey, maxKey, { partitionKey, includeInternalKeys });
      // list() has no limit: a range scan stopped after `limit` records bounds the work (leaving the loop cancels the streams).
      const keys: string[] = [];
      if (limit <= 0) return keys;
      for await (const record of client.rangeScan(minKey, maxKey, { partitionKey, includeInternalKeys })) {
        keys.push(record.key);
        if (keys.length >= limit) break;
      }
      return keys;
    } catch (e) {
      throw asDomainError(e);
    }
  }

  async get(target: ReadTarget, key: string): Promise<RecordView | undefined> {
    try {
      const client = await this.client(target);
      const r = await client.get(key);
      const v = r.version;
      return {
        key: r.key,
        value: r.value ?? new Uint8Array(),
        versionId: v.versionId,
        modificationsCount: v.modificationsCount,
        createdMs: v.createdTimestamp.getTime(),
        modifiedMs: v.modifiedTimestamp.getTime(),
        sessionId: v.sessionId,
        clientIdentity: v.clientIdentity,
      };
    } catch (e) {
      if (e instanceof KeyNotFoundError) return undefined;
      throw asDomainError(e);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(entries.map((e) => e.client.then((c) => c.close()).catch(() => undefined)));
  }

  private client(target: ReadTarget): Promise<OxiaClient> {
    const id = JSON.stringify([target.serviceAddress, target.namespace, target.authorization ?? null]);
    const existing = this.clients.get(id);
    if (existing) {
      existing.lastUsedMs = Date.now();
      return existing.client;
    }
    const tls = this.options.tls;
    const material = tls ? readTlsMaterial(tls) : undefined;
    const client = OxiaClient.connect(target.serviceAddress, {
      namespace: target.namespace,
      requestTimeoutMs: this.options.requestTimeoutMs,
      authentication: forwarded(target.authorization),
      ...(tls && material ? { tls: { ca: material.ca, cert: material.cert, key: material.key, serverName: tls.serverName, insecureSkipVerify: tls.insecureSkipVerify } } : {}),
      logger: { warn: (message) => this.log.debug('client library', { message }) },
    });
    const entry: Entry = { client, lastUsedMs: Date.now() };
    this.clients.set(id, entry);
    // A client that could not connect is not kept: the next read tries again.
    client.catch(() => {
      if (this.clients.get(id) === entry) this.clients.delete(id);
    });
    return client;
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [id, entry] of this.clients) {
      if (now - entry.lastUsedMs < IDLE_CLOSE_MS) continue;
      this.clients.delete(id);
      void entry.client.then((c) => c.close()).catch(() => undefined);
    }
  }
}
