// The Kubernetes objects of deploy/kubernetes as kustomize would produce them (the resources
// the kustomization lists, with its namespace applied), typed as far as the tests read them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, yamlDocuments } from './deploy-files.js';

export const kubernetesDir = 'deploy/kubernetes';

export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Labels;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}

export interface Probe {
  readonly grpc?: { readonly port: number; readonly service?: string };
  readonly exec?: { readonly command: readonly string[] };
  readonly httpGet?: unknown;
  readonly tcpSocket?: unknown;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly ports?: readonly ContainerPort[];
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
  readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean };
}

export interface LabelSelectorTerm {
  readonly topologyKey: string;
  readonly labelSelector?: { readonly matchLabels?: Labels };
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsNonRoot?: boolean; readonly fsGroup?: number };
  readonly affinity?: {
    readonly podAntiAffinity?: {
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly LabelSelectorTerm[];
    };
  };
  readonly volumes?: readonly { readonly name: string; readonly emptyDir?: unknown }[];
}

export interface PodTemplate {
  readonly metadata: { readonly labels?: Labels };
  readonly spec: PodSpec;
}

export interface WorkloadSpec {
  readonly replicas?: number;
  readonly serviceName?: string;
  readonly selector: { readonly matchLabels?: Labels };
  readonly template: PodTemplate;
  readonly volumeClaimTemplates?: readonly { readonly metadata: { readonly name: string } }[];
  readonly strategy?: { readonly type?: string };
}

export interface ServiceSpec {
  readonly clusterIP?: string;
  readonly publishNotReadyAddresses?: boolean;
  readonly selector?: Labels;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly targetPort?: number | string }[];
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: unknown;
  readonly data?: Readonly<Record<string, string>>;
  readonly rules?: readonly PolicyRule[];
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

export interface Kustomization {
  readonly namespace?: string;
  readonly resources: readonly string[];
  readonly images?: readonly { readonly name: string; readonly newName?: string; readonly newTag?: string }[];
}

/** Kinds that live outside namespaces (kustomize leaves them alone). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

export interface Deployment {
  readonly kustomization: Kustomization;
  /** With the kustomization's namespace applied to namespaced objects. */
  readonly objects: readonly K8sObject[];
  /** Object -> the file it came from, for messages. */
  readonly sourceOf: ReadonlyMap<K8sObject, string>;
}

export function loadKubernetesDeployment(): Deployment {
  const [kdoc] = yamlDocuments(`${kubernetesDir}/kustomization.yaml`);
  const kustomization = kdoc?.content as Kustomization;
  const objects: K8sObject[] = [];
  const sourceOf = new Map<K8sObject, string>();
  for (const resource of kustomization.resources) {
    const file = `${kubernetesDir}/${resource}`;
    if (!existsSync(join(repoRoot, file))) throw new Error(`kustomization.yaml lists ${resource}, which does not exist`);
    for (const doc of yamlDocuments(file)) {
      const raw = doc.content as K8sObject;
      const object: K8sObject =
        kustomization.namespace !== undefined && !CLUSTER_SCOPED.has(raw.kind)
          ? { ...raw, metadata: { ...raw.metadata, namespace: kustomization.namespace } }
          : raw;
      objects.push(object);
      sourceOf.set(object, file);
    }
  }
  return { kustomization, objects, sourceOf };
}

export function theObject(deployment: Deployment, kind: string, name: string): K8sObject {
  const found = deployment.objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

export function objectsOfKind(deployment: Deployment, kind: string): K8sObject[] {
  return deployment.objects.filter((o) => o.kind === kind);
}

/** A selector matches labels when every key/value of the selector is among them (and it selects something). */
export function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

export function workloadSpec(object: K8sObject): WorkloadSpec {
  if (object.kind !== 'StatefulSet' && object.kind !== 'Deployment') throw new Error(`${object.kind} is not a workload`);
  return object.spec as WorkloadSpec;
}

/** Kubernetes quantities of memory in MiB ("2Gi", "512Mi", "1G", plain bytes). */
export function memoryMiB(quantity: string | number): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]i?)?$/.exec(String(quantity));
  if (!m?.[1]) throw new Error(`not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = {
    '': 1 / 2 ** 20, K: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20, T: 1e12 / 2 ** 20,
    Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024,
  };
  return Number(m[1]) * (factor[m[2] ?? ''] ?? NaN);
}
