import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import type { ClusterStatusStore, VersionedClusterStatus } from '../../application/ports/cluster-status-store.js';
import { Logger } from '../../application/ports/logger.js';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';
import { decodeClusterStatus, encodeClusterStatus } from '../../domain/cluster/cluster-status-codec.js';
import { StatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { coreApi, describeKubeError, httpStatusOf, requestOptions, unavailable } from '../kubernetes/api-calls.js';
import { KubernetesConnection } from '../kubernetes/kubernetes-connection.js';

export interface ConfigMapStatusStoreOptions {
  /** The Kubernetes namespace (`--k8s-namespace`). */
  readonly namespace: string;
  /** The ConfigMap (`--k8s-configmap-name`; Oxia's default oxia-cluster-status). */
  readonly name: string;
}
export const ConfigMapStatusStoreOptions: ServiceIdentifier<ConfigMapStatusStoreOptions> = Symbol.for('oxia.ConfigMapStatusStoreOptions');

/** The data key holding the status, as in Oxia. */
export const STATUS_KEY = 'status';

/**
 * An annotation set to a fresh random value by every write. The API server does not move the
 * resourceVersion of an update that changes nothing, and a write of an unchanged status (the
 * claim of a coordinator taking over) must move it: the claim is what makes the previous
 * coordinator's next compare-and-set fail. It also tells our write from anyone else's when an
 * answer is lost.
 */
export const WRITE_ID_ANNOTATION = 'oxia-ts.io/status-write-id';

/**
 * The cluster status in a ConfigMap's `status` key (the bare status JSON, which is also valid
 * YAML for Oxia's readers). The version is the ConfigMap's resourceVersion.
 *
 * Every write is conditional: a replace carries the expected resourceVersion, so the API server
 * answers 409 Conflict if anyone changed the ConfigMap since, and a first write is a create,
 * which answers 409 AlreadyExists if someone created it first. Both become StatusVersionConflict;
 * the store never retries a write with a fresher version and never writes unconditionally.
 *
 * When the server's answer to a write is lost (network error, timeout, 5xx), the write may or
 * may not have happened; the store reads the ConfigMap back and decides: our bytes at a new
 * version means it happened, the expected version still there means it did not
 * (ResourceUnavailable: retrying is safe), anything else is a conflict.
 */
@injectable()
export class ConfigMapClusterStatusStore implements ClusterStatusStore {
  private readonly api: CoreV1Api;
  private readonly where: string;
  private closed = false;

  constructor(
    @inject(KubernetesConnection) private readonly connection: KubernetesConnection,
    @inject(ConfigMapStatusStoreOptions) private readonly options: ConfigMapStatusStoreOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.api = coreApi(connection);
    this.where = `ConfigMap ${options.namespace}/${options.name}`;
  }

  async load(): Promise<VersionedClusterStatus | undefined> {
    this.assertOpen();
    const cm = await this.read();
    const text = cm?.data?.[STATUS_KEY];
    if (!cm || text === undefined || text.trim() === '') return undefined;
    let status: ClusterStatus;
    try {
      status = decodeClusterStatus(text);
    } catch (e) {
      if (e instanceof OxiaError) throw new OxiaError(e.kind, `${this.where} key "${STATUS_KEY}" cannot be used (fix or delete it; it is never overwritten): ${e.message}`);
      throw e;
    }
    return { status, version: versionOf(cm) };
  }

  async store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    this.assertOpen();
    const text = encodeClusterStatus(status);
    const writeId = randomBytes(8).toString('hex');
    const version = expectedVersion === undefined ? await this.create(text, writeId) : await this.replace(text, writeId, expectedVersion);
    this.logger.debug('stored cluster status', { configMap: this.where, version });
    return version;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async create(text: string, writeId: string): Promise<StatusVersion> {
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: this.options.name, namespace: this.options.namespace, annotations: { [WRITE_ID_ANNOTATION]: writeId } },
      data: { [STATUS_KEY]: text },
    };
    try {
      return versionOf(await this.api.createNamespacedConfigMap({ namespace: this.options.namespace, body }, requestOptions(this.connection)));
    } catch (e) {
      if (httpStatusOf(e) !== 409) return this.afterUncertainWrite(e, text, writeId, undefined, undefined);
    }
    // It exists. If someone else stored a status first, that is a conflict; if it exists without
    // one (created empty by an operator or a chart), the status is added to it, conditionally.
    const cm = await this.read();
    if (!cm) throw new StatusVersionConflict(undefined, 'unknown', this.where);
    const existing = cm.data?.[STATUS_KEY];
    if (existing !== undefined && existing.trim() !== '') throw new StatusVersionConflict(undefined, { version: versionOf(cm) }, this.where);
    return this.put(cm, text, writeId, undefined);
  }

  private async replace(text: string, writeId: string, expectedVersion: StatusVersion): Promise<StatusVersion> {
    // Read first so that labels, annotations and other keys of the ConfigMap are kept.
    const cm = await this.read();
    if (!cm) throw new StatusVersionConflict(expectedVersion, 'absent', this.where);
    if (versionOf(cm) !== expectedVersion) throw new StatusVersionConflict(expectedVersion, { version: versionOf(cm) }, this.where);
    return this.put(cm, text, writeId, expectedVersion);
  }

  /** PUT conditioned on the resourceVersion `cm` was read at. */
  private async put(cm: V1ConfigMap, text: string, writeId: string, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    const readAt = versionOf(cm);
    const body: V1ConfigMap = {
      ...cm,
      metadata: {
        ...cm.metadata,
        name: this.options.name,
        namespace: this.options.namespace,
        resourceVersion: readAt,
        annotations: { ...(cm.metadata?.annotations ?? {}), [WRITE_ID_ANNOTATION]: writeId },
      },
      data: { ...(cm.data ?? {}), [STATUS_KEY]: text },
    };
    try {
      const updated = await this.api.replaceNamespacedConfigMap({ name: this.options.name, namespace: this.options.namespace, body }, requestOptions(this.connection));
      return versionOf(updated);
    } catch (e) {
      const code = httpStatusOf(e);
      if (code === 409) throw new StatusVersionConflict(expectedVersion, 'unknown', this.where);
      if (code === 404) throw new StatusVersionConflict(expectedVersion, 'absent', this.where);
      return this.afterUncertainWrite(e, text, writeId, readAt, expectedVersion);
    }
  }

  /**
   * A write whose outcome is unknown: find out from the ConfigMap itself. `readAt` is the
   * resourceVersion the write was conditioned on (undefined for a create).
   */
  private async afterUncertainWrite(
    e: unknown,
    text: string,
    writeId: string,
    readAt: StatusVersion | undefined,
    expectedVersion: StatusVersion | undefined,
  ): Promise<StatusVersion> {
    const code = httpStatusOf(e);
    // A 4xx other than the conflicts handled by the caller is a refusal: nothing was written.
    if (code !== undefined && code >= 400 && code < 500) throw unavailable(`writing the cluster status to ${this.where} was refused`, e);
    this.logger.warn('the answer to a cluster status write was lost; reading it back', { configMap: this.where, error: describeKubeError(e) });
    let cm: V1ConfigMap | undefined;
    try {
      cm = await this.read();
    } catch (readError) {
      throw unavailable(`writing the cluster status to ${this.where} failed (${describeKubeError(e)}) and whether it happened is unknown`, readError);
    }
    if (cm && versionOf(cm) !== readAt && cm.metadata?.annotations?.[WRITE_ID_ANNOTATION] === writeId && cm.data?.[STATUS_KEY] === text) return versionOf(cm);
    const untouched = readAt === undefined ? cm === undefined : cm !== undefined && versionOf(cm) === readAt;
    if (untouched) throw unavailable(`writing the cluster status to ${this.where} failed and did not happen (retrying is safe)`, e);
    throw new StatusVersionConflict(expectedVersion, cm ? { version: versionOf(cm) } : 'absent', this.where);
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api.readNamespacedConfigMap({ name: this.options.name, namespace: this.options.namespace }, requestOptions(this.connection));
    } catch (e) {
      if (httpStatusOf(e) === 404) return undefined;
      throw unavailable(`reading ${this.where}`, e);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `cluster status store ${this.where} is closed`);
  }
}

function versionOf(cm: V1ConfigMap): StatusVersion {
  const v = cm.metadata?.resourceVersion;
  if (!v) throw new OxiaError('ResourceUnavailable', `the API server returned ConfigMap ${cm.metadata?.name ?? '?'} without a resourceVersion`);
  return v;
}
