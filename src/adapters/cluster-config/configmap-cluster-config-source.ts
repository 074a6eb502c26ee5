import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import type { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import { Logger } from '../../application/ports/logger.js';
import { sameClusterConfig, type ClusterConfig } from '../../domain/cluster/cluster-config.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { coreApi, requestOptions } from '../kubernetes/api-calls.js';
import { KubernetesConnection } from '../kubernetes/kubernetes-connection.js';
import { ResourceWatch } from '../kubernetes/resource-watch.js';
import { parseClusterConfigYaml } from './cluster-config-yaml.js';
import { ListenerSet } from './listener-set.js';

export interface ConfigMapConfigSourceOptions {
  readonly namespace: string;
  /** Oxia's default: oxia-cluster-config. */
  readonly name: string;
  /** The data key holding the YAML (Oxia: config.yaml). */
  readonly key?: string;
  /** True with static discovery: the config must list the servers (see ClusterConfigCheck). */
  readonly serversRequired: boolean;
  /** start() fails if the ConfigMap cannot be read within this (default 30 s). */
  readonly startTimeoutMs?: number;
}
export const ConfigMapConfigSourceOptions: ServiceIdentifier<ConfigMapConfigSourceOptions> = Symbol.for('oxia.ConfigMapConfigSourceOptions');

export const CONFIG_KEY = 'config.yaml';

/**
 * The cluster config from a ConfigMap's `config.yaml` key, watched through the API server
 * (a field-selected watch on that one ConfigMap, re-established whenever it ends).
 */
@injectable()
export class ConfigMapClusterConfigSource implements ClusterConfigSource {
  private readonly api: CoreV1Api;
  private readonly configMaps: ResourceWatch<V1ConfigMap>;
  private readonly listeners: ListenerSet<ClusterConfig>;
  private readonly where: string;
  private readonly key: string;
  private config: ClusterConfig | undefined;
  private lastText: string | undefined;
  private latest: V1ConfigMap | undefined;
  private started = false;

  constructor(
    @inject(KubernetesConnection) connection: KubernetesConnection,
    @inject(ConfigMapConfigSourceOptions) private readonly options: ConfigMapConfigSourceOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.api = coreApi(connection);
    this.key = options.key ?? CONFIG_KEY;
    this.where = `ConfigMap ${options.namespace}/${options.name} key ${this.key}`;
    this.listeners = new ListenerSet(logger, 'cluster config');
    const fieldSelector = `metadata.name=${options.name}`;
    this.configMaps = new ResourceWatch<V1ConfigMap>({
      connection,
      logger,
      what: `ConfigMap ${options.namespace}/${options.name}`,
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
      fieldSelector,
      list: () => this.api.listNamespacedConfigMap({ namespace: options.namespace, fieldSelector }, requestOptions(connection)),
      onChange: (cms) => {
        this.latest = cms.get(options.name);
        if (this.started) this.changed();
      },
    });
  }

  async start(): Promise<void> {
    await this.configMaps.start(this.options.startTimeoutMs ?? 30_000);
    try {
      const text = this.latest?.data?.[this.key];
      if (!this.latest) throw new OxiaError('InvalidArgument', `cluster config ${this.where}: the ConfigMap does not exist`);
      if (text === undefined) throw new OxiaError('InvalidArgument', `cluster config ${this.where}: the ConfigMap has no such key`);
      this.config = parseClusterConfigYaml(text, this.where, { serversRequired: this.options.serversRequired });
      this.lastText = text;
      this.started = true;
    } catch (e) {
      await this.configMaps.stop();
      throw e;
    }
  }

  current(): ClusterConfig {
    if (!this.config) throw new Error('ConfigMapClusterConfigSource.current() before start()');
    return this.config;
  }

  watch(listener: (config: ClusterConfig) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.configMaps.stop();
  }

  private changed(): void {
    const text = this.latest?.data?.[this.key];
    if (text === this.lastText) return;
    this.lastText = text;
    if (text === undefined) {
      this.logger.warn('the cluster config ConfigMap or its key is gone; keeping the current config', { configMap: this.where });
      return;
    }
    let next: ClusterConfig;
    try {
      next = parseClusterConfigYaml(text, this.where, { serversRequired: this.options.serversRequired });
    } catch (e) {
      this.logger.error('the edited cluster config is invalid and is ignored; the previous one stays in force', { error: (e as Error).message });
      return;
    }
    if (this.config && sameClusterConfig(next, this.config)) return;
    this.config = next;
    this.logger.info('cluster config changed', { configMap: this.where });
    this.listeners.notify(next);
  }
}
