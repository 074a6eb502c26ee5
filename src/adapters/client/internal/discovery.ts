import type { ClientLogger } from '../options.js';
import { OxiaError } from '../errors.js';
import { Backoff, sleep } from './backoff.js';
import { RpcError } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import type { ClientTransport } from './transport.js';

/** Failures that another attempt cannot fix: connect reports them at once. */
const PERMANENT = new Set(['NamespaceNotFound', 'Unauthenticated', 'PermissionDenied', 'InvalidArgument']);

export interface Discovery {
  /** Resolves on the first assignments; rejects on a permanent failure. */
  readonly ready: Promise<void>;
  /** Resolves when the watch loop has stopped (after `signal` aborted). */
  readonly stopped: Promise<void>;
  /** The last failure of the assignments stream, for error messages. */
  lastError(): unknown;
}

/**
 * Watches GetShardAssignments on the service address and feeds every update into the
 * directory. The stream stays open; when it breaks or ends, it is reopened after a
 * growing delay (reset by each update received), until `signal` aborts.
 */
export function startDiscovery(
  transport: ClientTransport,
  serviceAddress: string,
  namespace: string,
  directory: ShardDirectory,
  logger: ClientLogger,
  signal: AbortSignal,
): Discovery {
  let resolveReady!: () => void;
  let rejectReady!: (e: unknown) => void;
  let isReady = false;
  let lastError: unknown;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {}); // observed by connect; never an unhandled rejection here

  const run = async (): Promise<void> => {
    const backoff = new Backoff(50, 2000);
    while (!signal.aborted) {
      try {
        for await (const msg of transport.shardAssignments(serviceAddress, { namespace }, signal)) {
          const ns = msg.namespaces[namespace];
          if (ns === undefined) {
            throw new RpcError('NamespaceNotFound', `namespace '${namespace}' does not exist on ${serviceAddress}`);
          }
          directory.update(ns);
          backoff.reset();
          if (!isReady) {
            isReady = true;
            resolveReady();
          }
        }
        if (!signal.aborted) logger.debug?.(`shard assignments stream from ${serviceAddress} ended; reopening`);
      } catch (e) {
        if (signal.aborted) break;
        lastError = e;
        const kind = e instanceof RpcError ? e.kind : 'Unknown';
        if (!isReady && PERMANENT.has(kind)) {
          const message = e instanceof Error ? e.message : String(e);
          rejectReady(new OxiaError(`cannot connect to ${serviceAddress}: ${message}`, { kind: kind as OxiaError['kind'], cause: e }));
          return;
        }
        if (isReady) logger.warn(`shard assignments from ${serviceAddress} failed (${e instanceof Error ? e.message : String(e)}); retrying`);
      }
      try {
        await sleep(backoff.next(), signal);
      } catch {
        break;
      }
    }
  };
  const stopped = run();
  return { ready, stopped, lastError: () => lastError };
}
