// The Kubernetes objects of deploy/kubernetes as kustomize would produce them, typed as far
// as the tests read them.
import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { repoRoot, yamlDocuments } from './deploy-files.js';

export const kubernetesDir = 'deploy/kubernetes';
/** The TLS variant, and the optional components it names (commented out or not). */
export const TLS_DIR = `${kubernetesDir}/tls`;
export const TLS_COMPONENTS = {
  oidc: `${TLS_DIR}/components/oidc`,
  oidcStaticKey: `${TLS_DIR}/components/oidc-static-key`,
  authorizationPolicy: `${TLS_DIR}/components/authorization-policy`,
} as const;
/** Scraping by the Prometheus Operator: ServiceMonitors, added to any plain-metrics variant. */
export const SERVICE_MONITOR_COMPONENT = `${kubernetesDir}/components/service-monitor`;
/** The cert-manager example that makes the TLS variant's Secrets. */
export const CERT_MANAGER_DIR = `${TLS_DIR}/cert-manager`;

/** A kustomization users apply, with the optional components they may add to it. */
export interface Variant {
  readonly dir: string;
  readonly extraComponents: readonly string[];
  /** For messages: the dir, and the components added. */
  readonly name: string;
}

function variant(dir: string, extraComponents: readonly string[] = []): Variant {
  return { dir, extraComponents, name: extraComponents.length === 0 ? dir : `${dir} + ${extraComponents.map((c) => posix.basename(c)).join(' + ')}` };
}

/**
 * The kustomizations users apply: the default (static discovery), alone and with the
 * ServiceMonitors, the Kubernetes discovery variant, and the TLS variant as shipped and with
 * each optional component added.
 */
export const KUSTOMIZATIONS: readonly Variant[] = [
  variant(kubernetesDir),
  variant(kubernetesDir, [SERVICE_MONITOR_COMPONENT]),
  variant(`${kubernetesDir}/kubernetes-discovery`),
  variant(TLS_DIR),
  variant(TLS_DIR, [TLS_COMPONENTS.oidcStaticKey]),
  variant(TLS_DIR, [TLS_COMPONENTS.authorizationPolicy]),
];

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
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly httpGet?: unknown;
  readonly tcpSocket?: unknown;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly ports?: readonly ContainerPort[];
  readonly env?: readonly EnvVar[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly subPath?: string; readonly readOnly?: boolean }[];
  readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean };
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly configMapKeyRef?: { readonly name: string; readonly key: string } };
}

/** A Secret or ConfigMap volume's files: all keys, or the `items` listed. */
export interface KeyedVolumeSource {
  readonly defaultMode?: number;
  readonly items?: readonly { readonly key: string; readonly path: string }[];
}

export interface Volume {
  readonly name: string;
  readonly emptyDir?: unknown;
  readonly secret?: KeyedVolumeSource & { readonly secretName: string };
  readonly configMap?: KeyedVolumeSource & { readonly name: string };
}

export interface LabelSelectorTerm {
  readonly topologyKey: string;
  readonly labelSelector?: { readonly matchLabels?: Labels };
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number; readonly runAsNonRoot?: boolean; readonly fsGroup?: number };
  readonly affinity?: {
    readonly podAntiAffinity?: {
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly LabelSelectorTerm[];
      readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly { readonly weight: number; readonly podAffinityTerm: LabelSelectorTerm }[];
    };
  };
  readonly volumes?: readonly Volume[];
}

export interface PodTemplate {
  readonly metadata: { readonly labels?: Labels; readonly annotations?: Labels };
  readonly spec: PodSpec;
}

export interface WorkloadSpec {
  readonly replicas?: number;
  readonly serviceName?: string;
  readonly selector: { readonly matchLabels?: Labels };
  readonly template: PodTemplate;
  readonly volumeClaimTemplates?: readonly { readonly metadata: { readonly name: string } }[];
  readonly strategy?: { readonly type?: string; readonly rollingUpdate?: { readonly maxSurge?: number | string; readonly maxUnavailable?: number | string } };
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
  readonly kind?: string;
  readonly namespace?: string;
  readonly resources?: readonly string[];
  readonly components?: readonly string[];
  readonly labels?: readonly { readonly pairs: Labels; readonly includeSelectors?: boolean; readonly includeTemplates?: boolean }[];
  readonly images?: readonly { readonly name: string; readonly newName?: string; readonly newTag?: string }[];
  readonly patches?: readonly { readonly target: { readonly kind: string; readonly name: string }; readonly patch: string }[];
}

/** Kinds that live outside namespaces (kustomize leaves them alone). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

export interface Deployment {
  /** The kustomization directory, relative to the repository root. */
  readonly dir: string;
  /** The namespace the objects end up in (the innermost kustomization that sets one). */
  readonly namespace: string | undefined;
  readonly objects: readonly K8sObject[];
  /** Object -> the file it came from, for messages. */
  readonly sourceOf: ReadonlyMap<K8sObject, string>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** RFC 6902 add / replace / remove, the operations the overlays use; anything else is an error. */
function applyJsonPatch(target: Json, ops: readonly { op: string; path: string; value?: Json }[], where: string): void {
  for (const { op, path, value } of ops) {
    const keys = path.split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    let parent: Json = target;
    for (const key of keys) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(key)] : parent !== null && typeof parent === 'object' ? parent[key] : undefined;
      if (next === undefined || next === null || typeof next !== 'object') throw new Error(`${where}: patch path ${path} does not exist`);
      parent = next;
    }
    if (last === undefined || parent === null || typeof parent !== 'object') throw new Error(`${where}: patch path ${path} does not exist`);
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`${where}: patch path ${path}: no index ${last}`);
      if (op === 'add') parent.splice(index, 0, value ?? null);
      else if (op === 'replace' && index < parent.length) parent[index] = value ?? null;
      else if (op === 'remove' && index < parent.length) parent.splice(index, 1);
      else throw new Error(`${where}: patch op ${op} at ${path} not supported here`);
    } else if (op === 'add' || (op === 'replace' && last in parent)) {
      parent[last] = value ?? null;
    } else if (op === 'remove' && last in parent) {
      delete parent[last];
    } else {
      throw new Error(`${where}: patch op ${op} at ${path} not supported here`);
    }
  }
}

/** Resources (files, and directories holding a kustomization) appended to `objects`. */
function loadResources(dir: string, k: Kustomization, objects: Json[], sources: string[]): string | undefined {
  let innerNamespace: string | undefined;
  for (const resource of k.resources ?? []) {
    const target = posix.normalize(`${dir}/${resource}`);
    if (!existsSync(join(repoRoot, target))) throw new Error(`${dir}/kustomization.yaml lists ${resource}, which does not exist`);
    if (statSync(join(repoRoot, target)).isDirectory()) {
      const inner = loadKustomization(target);
      innerNamespace ??= inner.namespace;
      for (const o of inner.objects) {
        objects.push(structuredClone(o) as unknown as Json);
        sources.push(inner.sourceOf.get(o) ?? target);
      }
    } else {
      for (const doc of yamlDocuments(target)) {
        objects.push(doc.content as Json);
        sources.push(target);
      }
    }
  }
  return innerNamespace;
}

function applyPatches(path: string, k: Kustomization, objects: Json[]): void {
  for (const patch of k.patches ?? []) {
    const matches = (objects as unknown as K8sObject[]).filter((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (matches.length !== 1) throw new Error(`${path}: patch target ${patch.target.kind} ${patch.target.name} matches ${matches.length} objects`);
    const ops = parse(patch.patch) as { op: string; path: string; value?: Json }[];
    applyJsonPatch(matches[0] as unknown as Json, ops, path);
  }
}

function readKustomization(dir: string, kind: 'Kustomization' | 'Component'): Kustomization {
  const path = `${dir}/kustomization.yaml`;
  if (!existsSync(join(repoRoot, path))) throw new Error(`${path} does not exist`);
  const k = yamlDocuments(path)[0]?.content as Kustomization;
  if ((k.kind ?? 'Kustomization') !== kind) throw new Error(`${path}: kind ${k.kind}, expected ${kind}`);
  // Anything beyond what is implemented here would be silently ignored: refuse it instead.
  const known = new Set(kind === 'Component' ? ['apiVersion', 'kind', 'resources', 'patches'] : ['apiVersion', 'kind', 'namespace', 'resources', 'components', 'labels', 'images', 'patches']);
  const unknown = Object.keys(k).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${path}: tests/deploy does not implement ${unknown.join(', ')}`);
  if ((k.labels ?? []).some((l) => l.includeSelectors === true || l.includeTemplates === true)) {
    throw new Error(`${path}: tests/deploy implements labels on metadata only (includeSelectors/includeTemplates false)`);
  }
  return k;
}

/**
 * The objects a kustomization directory produces, as `kubectl kustomize` would: resources
 * (files, and directories holding a kustomization), then components in order (each adds its
 * resources and patches what has accumulated; `extraComponents` come after those listed, as a
 * user adding them would write them), then patches (JSON 6902 on a kind and name), images,
 * labels (on metadata only) and the namespace. Only the features deploy/ uses are implemented;
 * the test compares the result with kubectl's rendering where kubectl exists.
 */
export function loadKustomization(dir: string, extraComponents: readonly string[] = []): Deployment {
  const path = `${dir}/kustomization.yaml`;
  const k = readKustomization(dir, 'Kustomization');
  const objects: Json[] = [];
  const sources: string[] = [];
  const innerNamespace = loadResources(dir, k, objects, sources);
  for (const componentDir of [...(k.components ?? []).map((c) => posix.normalize(`${dir}/${c}`)), ...extraComponents]) {
    const component = readKustomization(componentDir, 'Component');
    loadResources(componentDir, component, objects, sources);
    applyPatches(`${componentDir}/kustomization.yaml`, component, objects);
  }
  applyPatches(path, k, objects);
  const typed = (): K8sObject[] => objects as unknown as K8sObject[];
  for (const o of typed()) {
    const spec = o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined;
    for (const c of spec?.template?.spec?.containers ?? []) {
      const [name, tag] = c.image.split(':');
      const image = (k.images ?? []).find((i) => i.name === name);
      if (image) c.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
    const meta = o.metadata as { labels?: Record<string, string>; namespace?: string };
    for (const l of k.labels ?? []) meta.labels = { ...meta.labels, ...l.pairs };
    if (k.namespace !== undefined && !CLUSTER_SCOPED.has(o.kind)) {
      meta.namespace = k.namespace;
      for (const s of (o.subjects ?? []) as unknown as { kind: string; namespace?: string }[]) if (s.kind === 'ServiceAccount') s.namespace = k.namespace;
    }
  }
  const sourceOf = new Map<K8sObject, string>();
  typed().forEach((o, i) => sourceOf.set(o, sources[i] ?? path));
  return { dir, namespace: k.namespace ?? innerNamespace, objects: typed(), sourceOf };
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
