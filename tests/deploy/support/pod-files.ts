// What a container of a rendered deployment sees: its arguments with `$(VAR)` references
// expanded as the kubelet expands them, the files its flags and probes name, and whether each
// of those files is there (a mounted volume that holds that key) and readable by its user.
import { posix } from 'node:path';
import type { Container, Deployment, K8sObject, PodSpec, Volume } from './kubernetes-objects.js';

/** The container's environment as the kubelet builds it: values, and ConfigMap keys of this deployment. */
export function containerEnv(container: Container, d: Deployment): { env: Map<string, string>; problems: string[] } {
  const env = new Map<string, string>();
  const problems: string[] = [];
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env.set(e.name, expandReferences(e.value, env).text);
    const ref = e.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const configMap = d.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name);
    const value = configMap?.data?.[ref.key];
    if (value === undefined) problems.push(`env ${e.name}: ConfigMap ${ref.name} key ${ref.key} is not in the deployment`);
    else env.set(e.name, value);
  }
  return { env, problems };
}

/**
 * `$(NAME)` replaced by the variable's value, `$$` by `$`, as the kubelet does in command and
 * args; a reference to an unknown variable stays as it is (and is reported).
 */
export function expandReferences(text: string, env: ReadonlyMap<string, string>): { text: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const out = text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    const value = env.get(name);
    if (value === undefined) unresolved.push(name);
    return value ?? whole;
  });
  return { text: out, unresolved };
}

/** `--x-file=/path` words of a command line: the files it names (flag name without dashes, path). */
export function fileFlags(words: readonly string[]): { flag: string; path: string }[] {
  return words.flatMap((w) => {
    const m = /^--([a-z0-9-]+-file)=(.+)$/s.exec(w);
    return m?.[1] && m[2] ? [{ flag: m[1], path: m[2] }] : [];
  });
}

/** Files named inside --auth-provider-params (Oxia's OIDC JSON: each issuer's staticKeyFile). */
export function authParamsFiles(params: string | undefined): string[] {
  if (params === undefined) return [];
  const parsed = JSON.parse(params) as { issuers?: Record<string, { staticKeyFile?: string }> };
  return Object.values(parsed.issuers ?? {}).flatMap((i) => (i.staticKeyFile ? [i.staticKeyFile] : []));
}

/** Where a file of a container comes from: its volume, and the key of the Secret or ConfigMap. */
export interface MountedFile {
  readonly volume: Volume;
  readonly key: string;
}

const DEFAULT_MODE = 0o644;

/**
 * The volume and key behind `path` in the container, or why it is not there: mounted whole
 * (not a subPath: those never see a Secret's update), read-only, the key listed in the
 * volume's items, and readable by the pod's user (others may read, or the group is the pod's
 * fsGroup). A ConfigMap of the deployment must hold the key.
 */
export function mountedFile(path: string, container: Container, pod: PodSpec, d: Deployment): MountedFile | string {
  const dir = posix.dirname(path);
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath.replace(/\/$/, '') === dir);
  if (!mount) return `${path}: no volume is mounted at ${dir}`;
  if (mount.subPath !== undefined) return `${path}: the volume at ${dir} is mounted with subPath (updates would never reach it)`;
  if (mount.readOnly !== true) return `${path}: the volume at ${dir} is not mounted readOnly`;
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  if (!volume) return `${path}: the mount names volume ${mount.name}, which the pod does not declare`;
  const source = volume.secret ?? volume.configMap;
  if (!source) return `${path}: volume ${volume.name} is neither a Secret nor a ConfigMap`;
  const file = posix.basename(path);
  const item = source.items?.find((i) => i.path === file);
  if (!item) return `${path}: volume ${volume.name} lists no item with path ${file} (list the keys: a missing key then fails the mount, not the process)`;
  if (volume.configMap) {
    const configMap = d.objects.find((o: K8sObject) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap?.name);
    if (configMap?.data?.[item.key] === undefined) return `${path}: ConfigMap ${volume.configMap.name} (in the deployment) has no key ${item.key}`;
  }
  const mode = source.defaultMode ?? DEFAULT_MODE;
  const readable = (mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && pod.securityContext?.fsGroup !== undefined);
  if (!readable) return `${path}: mode ${mode.toString(8)} of volume ${volume.name} does not let the pod's user read it (needs others' read, or group read with an fsGroup)`;
  return { volume, key: item.key };
}
