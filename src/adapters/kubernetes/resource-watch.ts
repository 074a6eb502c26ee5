import { Watch } from '@kubernetes/client-node';
import type { Logger } from '../../application/ports/logger.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { backoffDelayMs, type BackoffPolicy } from '../../domain/coordinator/backoff.js';
import { describeKubeError, httpStatusOf } from './api-calls.js';
import {
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_RETRY_DELAY_MS_MAX,
  DEFAULT_WATCH_TIMEOUT_SECONDS,
  type KubernetesConnection,
} from './kubernetes-connection.js';

/** The part of a Kubernetes object this helper needs. */
export interface NamedObject {
  metadata?: { name?: string; resourceVersion?: string };
}

export interface ResourceWatchOptions<T extends NamedObject> {
  readonly connection: KubernetesConnection;
  readonly logger: Logger;
  /** For messages: "pods app=oxia in namespace oxia". */
  readonly what: string;
  /** The collection's API path, e.g. /api/v1/namespaces/oxia/pods. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Lists the collection with the same selectors (the typed client call). */
  readonly list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** The whole current set, by name: after every list and after every change seen by the watch. */
  readonly onChange: (objects: ReadonlyMap<string, T>) => void;
}

/** A watch that ends sooner than this after starting counts as failed, so a server that drops watches is not hammered. */
const WATCH_HEALTHY_MS = 1_000;
/** Grace on top of timeoutSeconds before the client gives up on a watch the server should have ended. */
const WATCH_CLIENT_GRACE_MS = 30_000;

type WatchOutcome = { kind: 'ended' | 'gone' | 'error'; resourceVersion: string; error?: unknown };

/**
 * Keeps a local copy of a set of Kubernetes objects current: list, then watch from the list's
 * resourceVersion; when a watch ends (server timeout, connection loss) watch again from the last
 * resourceVersion seen; when that version is too old (410 Gone) list again. Errors are retried
 * with exponential backoff, forever, until stop(): the API server being away for a while must not
 * end discovery or config watching.
 */
export class ResourceWatch<T extends NamedObject> {
  private objects = new Map<string, T>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private abortWatch: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private onFirstSync: (() => void) | undefined;
  private lastError: unknown;
  private readonly retryDelayMs: number;
  private readonly retryDelayMsMax: number;
  private readonly timeoutSeconds: number;

  constructor(private readonly options: ResourceWatchOptions<T>) {
    this.retryDelayMs = options.connection.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.retryDelayMsMax = options.connection.retryDelayMsMax ?? DEFAULT_RETRY_DELAY_MS_MAX;
    this.timeoutSeconds = options.connection.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
  }

  /**
   * Starts and resolves after the first successful list (onChange has been called once). If no
   * list succeeds within `timeoutMs`, stops and rejects with ResourceUnavailable.
   */
  start(timeoutMs: number): Promise<void> {
    if (this.loop) throw new Error(`watch of ${this.options.what} already started`);
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onFirstSync = undefined;
        void this.stop();
        reject(
          new OxiaError(
            'ResourceUnavailable',
            `could not list ${this.options.what} within ${timeoutMs} ms${this.lastError === undefined ? '' : `: ${describeKubeError(this.lastError)}`}`,
          ),
        );
      }, timeoutMs);
      this.onFirstSync = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.loop = this.run();
    return synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abortWatch?.();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    // Doubling without jitter: one watch per process, nothing to spread out.
    const policy: BackoffPolicy = { initialMs: this.retryDelayMs, multiplier: 2, maxMs: this.retryDelayMsMax, jitter: 0 };
    let attempt = 0;
    let delayMs = backoffDelayMs(policy, attempt, 0);
    const backoff = async (): Promise<void> => {
      await this.sleep(delayMs);
      delayMs = backoffDelayMs(policy, ++attempt, 0);
    };
    const restartBackoff = (): void => {
      attempt = 0;
      delayMs = backoffDelayMs(policy, attempt, 0);
    };
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        const list = await this.options.list();
        if (this.stopped) return;
        this.objects = new Map();
        for (const o of list.items) if (o.metadata?.name) this.objects.set(o.metadata.name, o);
        resourceVersion = list.metadata?.resourceVersion ?? '';
        this.changed();
        this.onFirstSync?.();
        this.onFirstSync = undefined;
      } catch (e) {
        this.lastError = e;
        this.options.logger.warn(`listing ${this.options.what} failed; retrying`, { error: describeKubeError(e), retryInMs: delayMs });
        await backoff();
        continue;
      }
      while (!this.stopped) {
        const started = Date.now();
        const outcome = await this.watchOnce(resourceVersion);
        resourceVersion = outcome.resourceVersion;
        if (this.stopped) return;
        if (outcome.kind === 'gone') {
          this.options.logger.info(`watch of ${this.options.what} fell behind the API server's history; listing again`);
          restartBackoff();
          break;
        }
        if (outcome.kind === 'error' || Date.now() - started < WATCH_HEALTHY_MS) {
          if (outcome.error !== undefined) this.lastError = outcome.error;
          this.options.logger.warn(`watch of ${this.options.what} ended; watching again`, {
            error: outcome.error === undefined ? 'closed early' : describeKubeError(outcome.error),
            retryInMs: delayMs,
          });
          await backoff();
        } else {
          restartBackoff();
        }
      }
    }
  }

  private watchOnce(fromVersion: string): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      let current = fromVersion;
      let controller: AbortController | undefined;
      let finished = false;
      const finish = (kind: WatchOutcome['kind'], error?: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(clientTimeout);
        this.abortWatch = undefined;
        controller?.abort();
        resolve(error === undefined ? { kind, resourceVersion: current } : { kind, resourceVersion: current, error });
      };
      // The server ends the watch after timeoutSeconds; a connection that died silently never would.
      const clientTimeout = setTimeout(() => finish('ended'), this.timeoutSeconds * 1000 + WATCH_CLIENT_GRACE_MS);
      this.abortWatch = () => finish('ended');

      const query: Record<string, string | number | boolean> = {
        allowWatchBookmarks: true,
        timeoutSeconds: this.timeoutSeconds,
      };
      if (fromVersion !== '') query.resourceVersion = fromVersion;
      if (this.options.labelSelector) query.labelSelector = this.options.labelSelector;
      if (this.options.fieldSelector) query.fieldSelector = this.options.fieldSelector;

      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string } | undefined;
          if (status?.code === 410) finish('gone');
          else finish('error', new Error(`watch error event: ${status?.message ?? JSON.stringify(obj)}`));
          return;
        }
        const o = obj as T;
        const rv = o?.metadata?.resourceVersion;
        if (rv) current = rv;
        const name = o?.metadata?.name;
        if (type === 'BOOKMARK' || !name) return;
        if (type === 'DELETED') this.objects.delete(name);
        else this.objects.set(name, o);
        this.changed();
      };
      const onDone = (err: unknown): void => {
        if (err === null || err === undefined) finish('ended');
        else finish(httpStatusOf(err) === 410 ? 'gone' : 'error', err);
      };
      new Watch(this.options.connection.kubeConfig).watch(this.options.path, query, onEvent, onDone).then(
        (c) => {
          controller = c;
          if (finished) c.abort();
        },
        (e: unknown) => finish('error', e),
      );
    });
  }

  private changed(): void {
    try {
      this.options.onChange(this.objects);
    } catch (e) {
      this.options.logger.error(`handling a change of ${this.options.what} failed`, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
