import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import type { NodeDiscovery } from '../../application/ports/node-discovery.js';
import { sameNodeList, sortNodes, type NodeAddress } from '../../domain/cluster/node-address.js';
import { ListenerSet } from '../cluster-config/listener-set.js';
import { coreApi, requestOptions } from '../kubernetes/api-calls.js';
import { KubernetesConnection } from '../kubernetes/kubernetes-connection.js';
import { ResourceWatch } from '../kubernetes/resource-watch.js';

export interface KubernetesDiscoveryOptions {
  /** Namespace of the storage StatefulSet. */
  readonly namespace: string;
  /** The StatefulSet's pod selector, e.g. `app.kubernetes.io/name=oxia,app.kubernetes.io/component=server`. */
  readonly labelSelector: string;
  /** The headless Service governing the StatefulSet: pods are reached as `<pod>.<service>.<namespace>.svc.<domain>`. */
  readonly serviceName: string;
  /** Default cluster.local. */
  readonly clusterDomain?: string;
  /** Used when the pod declares no container port named `public` (default 6648). */
  readonly publicPort?: number;
  /** Used when the pod declares no container port named `internal` (default 6649). */
  readonly internalPort?: number;
  /**
   * A pod that disappears (or is terminating) stays a member this long (default 60 s), so that a
   * rolling restart, which deletes and recreates each pod under the same name, does not look like
   * a scale-down and move its shards away. 0 removes at once.
   */
  readonly absentGraceMs?: number;
  /** start() fails if the pods cannot be listed within this (default 30 s). */
  readonly startTimeoutMs?: number;
}
export const KubernetesDiscoveryOptions: ServiceIdentifier<KubernetesDiscoveryOptions> = Symbol.for('oxia.KubernetesDiscoveryOptions');

export const DEFAULT_PUBLIC_PORT = 6648;
export const DEFAULT_INTERNAL_PORT = 6649;

/**
 * The storage nodes are the pods of the storage StatefulSet, listed and watched through the API
 * server. A pod's identity is its name, which a StatefulSet keeps stable across restarts, and its
 * addresses are its stable DNS names behind the headless Service, not its (changing) pod IP.
 * Membership is not health: a member whose pod is not ready is still a member, and the
 * coordinator's health checks decide whether it can serve.
 */
@injectable()
export class KubernetesNodeDiscovery implements NodeDiscovery {
  private readonly api: CoreV1Api;
  private readonly pods: ResourceWatch<V1Pod>;
  private readonly listeners: ListenerSet<readonly NodeAddress[]>;
  private readonly graceMs: number;
  private members: readonly NodeAddress[] = [];
  /** Members whose pod is gone or terminating, with when that was first seen. */
  private readonly absentSince = new Map<string, { node: NodeAddress; sinceMs: number }>();
  private graceTimer: NodeJS.Timeout | undefined;
  private lastPods: ReadonlyMap<string, V1Pod> = new Map();
  private started = false;
  private closed = false;

  constructor(
    @inject(KubernetesConnection) connection: KubernetesConnection,
    @inject(KubernetesDiscoveryOptions) private readonly options: KubernetesDiscoveryOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.api = coreApi(connection);
    this.graceMs = options.absentGraceMs ?? 60_000;
    this.listeners = new ListenerSet(logger, 'node discovery');
    const what = `pods ${options.labelSelector} in namespace ${options.namespace}`;
    this.pods = new ResourceWatch<V1Pod>({
      connection,
      logger,
      what,
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`,
      labelSelector: options.labelSelector,
      list: () => this.api.listNamespacedPod({ namespace: options.namespace, labelSelector: options.labelSelector }, requestOptions(connection)),
      onChange: (pods) => {
        this.lastPods = pods;
        this.recompute();
      },
    });
  }

  async start(): Promise<void> {
    await this.pods.start(this.options.startTimeoutMs ?? 30_000);
    this.started = true;
    this.logger.info('discovered storage nodes', { nodes: this.members.map((n) => n.name) });
  }

  current(): readonly NodeAddress[] {
    if (!this.started) throw new Error('KubernetesNodeDiscovery.current() before start()');
    return this.members;
  }

  watch(listener: (nodes: readonly NodeAddress[]) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.listeners.clear();
    await this.pods.stop();
  }

  /** The node a pod stands for, if it is (still) a member: it exists and is not being deleted. */
  private nodeOf(pod: V1Pod): NodeAddress | undefined {
    const name = pod.metadata?.name;
    if (!name || pod.metadata?.deletionTimestamp) return undefined;
    const o = this.options;
    const host = `${name}.${o.serviceName}.${o.namespace}.svc.${o.clusterDomain ?? 'cluster.local'}`;
    const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
    const port = (portName: string, fallback: number): number => ports.find((p) => p.name === portName)?.containerPort ?? fallback;
    return {
      name,
      public: `${host}:${port('public', o.publicPort ?? DEFAULT_PUBLIC_PORT)}`,
      internal: `${host}:${port('internal', o.internalPort ?? DEFAULT_INTERNAL_PORT)}`,
    };
  }

  private recompute(): void {
    if (this.closed) return;
    const now = Date.now();
    const present = new Map<string, NodeAddress>();
    for (const pod of this.lastPods.values()) {
      const node = this.nodeOf(pod);
      if (node) present.set(node.name!, node);
    }
    for (const name of present.keys()) this.absentSince.delete(name);
    for (const m of this.members) {
      if (!present.has(m.name!) && !this.absentSince.has(m.name!)) this.absentSince.set(m.name!, { node: m, sinceMs: now });
    }
    const kept: NodeAddress[] = [];
    let nextExpiryMs = Infinity;
    for (const [name, { node, sinceMs }] of this.absentSince) {
      const expiresMs = sinceMs + this.graceMs;
      if (expiresMs <= now) {
        this.absentSince.delete(name);
        this.logger.info('storage node pod gone; removing it from the members', { node: name });
      } else {
        kept.push(node);
        nextExpiryMs = Math.min(nextExpiryMs, expiresMs);
      }
    }
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = nextExpiryMs === Infinity ? undefined : setTimeout(() => this.recompute(), nextExpiryMs - now);

    const members = sortNodes([...present.values(), ...kept]);
    if (sameNodeList(members, this.members)) return;
    this.members = members;
    if (this.started) this.listeners.notify(members);
  }
}
