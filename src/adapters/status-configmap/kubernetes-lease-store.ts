import { randomBytes } from 'node:crypto';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import { LeaseConflict, type LeaseStore } from '../../application/ports/lease-store.js';
import { Logger } from '../../application/ports/logger.js';
import type { LeaseRecord, StoredLease } from '../../domain/coordinator/lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { coordinationApi, describeKubeError, httpStatusOf, requestOptions, unavailable } from '../kubernetes/api-calls.js';
import { KubernetesConnection } from '../kubernetes/kubernetes-connection.js';

export interface KubernetesLeaseStoreOptions {
  readonly namespace: string;
  /** The Lease (Oxia names it after the status ConfigMap, and so does oxia-ts). */
  readonly name: string;
  /** Bound on a read (a standby must not wait long on a stalled API server). */
  readonly readTimeoutMs: number;
}
export const KubernetesLeaseStoreOptions: ServiceIdentifier<KubernetesLeaseStoreOptions> = Symbol.for('oxia.KubernetesLeaseStoreOptions');

/**
 * Set to a fresh random value by every write: an update that changes nothing keeps its
 * resourceVersion on the API server, and every write of the lease must be seen as one (a
 * renewal). It also tells our write from anyone else's when an answer is lost.
 */
export const LEASE_WRITE_ID_ANNOTATION = 'oxia-ts.io/lease-write-id';

/** What leader election in client-go assumes when a Lease carries no duration. */
const DEFAULT_DURATION_SECONDS = 15;

/**
 * The coordinator lease as a Kubernetes Lease (coordination.k8s.io/v1), with the fields
 * client-go's leader election uses (holderIdentity, leaseDurationSeconds, acquireTime,
 * renewTime, leaseTransitions), so that kubectl shows the holder and a coordinator of
 * another implementation using the same Lease excludes and is excluded.
 *
 * Writes are conditional: the first is a create (409 AlreadyExists: conflict), later ones a
 * replace carrying the expected resourceVersion (409 Conflict or 404: conflict). A write
 * whose answer is lost is settled by reading the Lease back: our write id at a new version means
 * it happened, the expected version still there means it did not, anything else is a conflict.
 */
@injectable()
export class KubernetesLeaseStore implements LeaseStore {
  readonly where: string;
  private readonly api: CoordinationV1Api;
  /** The last Lease read or written, whose labels and annotations a replace keeps. */
  private last: V1Lease | undefined;
  private closed = false;

  constructor(
    @inject(KubernetesConnection) private readonly connection: KubernetesConnection,
    @inject(KubernetesLeaseStoreOptions) private readonly options: KubernetesLeaseStoreOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.api = coordinationApi(connection);
    this.where = `Lease ${options.namespace}/${options.name}`;
  }

  async read(): Promise<StoredLease | undefined> {
    this.assertOpen();
    const lease = await this.get(this.options.readTimeoutMs);
    return lease && storedLease(lease);
  }

  async write(record: LeaseRecord, expectedVersion: string | undefined, timeoutMs: number): Promise<string> {
    this.assertOpen();
    const writeId = randomBytes(8).toString('hex');
    const body = this.body(record, expectedVersion, writeId);
    const { namespace, name } = this.options;
    try {
      const written =
        expectedVersion === undefined
          ? await this.api.createNamespacedLease({ namespace, body }, requestOptions(this.connection, timeoutMs))
          : await this.api.replaceNamespacedLease({ name, namespace, body }, requestOptions(this.connection, timeoutMs));
      this.last = written;
      return versionOf(written);
    } catch (e) {
      const code = httpStatusOf(e);
      if (code === 409 || (code === 404 && expectedVersion !== undefined)) throw new LeaseConflict(this.where, expectedVersion, undefined);
      if (code !== undefined && code >= 400 && code < 500) throw unavailable(`writing ${this.where} was refused`, e);
      return this.afterUncertainWrite(e, writeId, expectedVersion, timeoutMs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private body(record: LeaseRecord, expectedVersion: string | undefined, writeId: string): V1Lease {
    const kept = expectedVersion !== undefined && this.last?.metadata?.resourceVersion === expectedVersion ? this.last.metadata : undefined;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.options.name,
        namespace: this.options.namespace,
        ...(kept?.labels ? { labels: kept.labels } : {}),
        annotations: { ...(kept?.annotations ?? {}), [LEASE_WRITE_ID_ANNOTATION]: writeId },
        ...(expectedVersion !== undefined ? { resourceVersion: expectedVersion } : {}),
      },
      spec: {
        holderIdentity: record.holder,
        // Whole seconds in a Lease; never shorter than asked for.
        leaseDurationSeconds: Math.max(1, Math.ceil(record.durationMs / 1000)),
        // MicroTime: serialised with six decimals, as the API server requires.
        acquireTime: new V1MicroTime(record.acquiredAtMs),
        renewTime: new V1MicroTime(record.renewedAtMs),
        leaseTransitions: record.transitions,
      },
    };
  }

  private async afterUncertainWrite(e: unknown, writeId: string, expectedVersion: string | undefined, timeoutMs: number): Promise<string> {
    this.logger.warn('the answer to a lease write was lost; reading the lease back', { lease: this.where, error: describeKubeError(e) });
    let lease: V1Lease | undefined;
    try {
      lease = await this.get(timeoutMs);
    } catch (readError) {
      throw unavailable(`writing ${this.where} failed (${describeKubeError(e)}) and whether it happened is unknown`, readError);
    }
    const found = lease && storedLease(lease);
    if (found && found.version !== expectedVersion && lease?.metadata?.annotations?.[LEASE_WRITE_ID_ANNOTATION] === writeId) return found.version;
    const untouched = expectedVersion === undefined ? found === undefined : found?.version === expectedVersion;
    if (untouched) throw unavailable(`writing ${this.where} failed and did not happen`, e);
    throw new LeaseConflict(this.where, expectedVersion, found?.version);
  }

  private async get(timeoutMs: number): Promise<V1Lease | undefined> {
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace }, requestOptions(this.connection, timeoutMs));
      this.last = lease;
      return lease;
    } catch (e) {
      if (httpStatusOf(e) === 404) return undefined;
      throw unavailable(`reading ${this.where}`, e);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `${this.where} store is closed`);
  }
}

function versionOf(lease: V1Lease): string {
  const v = lease.metadata?.resourceVersion;
  if (!v) throw new OxiaError('ResourceUnavailable', `the API server returned Lease ${lease.metadata?.name ?? '?'} without a resourceVersion`);
  return v;
}

function storedLease(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    version: versionOf(lease),
    record: {
      holder: spec.holderIdentity ?? '',
      durationMs: (spec.leaseDurationSeconds ?? DEFAULT_DURATION_SECONDS) * 1000,
      acquiredAtMs: spec.acquireTime ? new Date(spec.acquireTime).getTime() : 0,
      renewedAtMs: spec.renewTime ? new Date(spec.renewTime).getTime() : 0,
      transitions: spec.leaseTransitions ?? 0,
    },
  };
}
