import { OxiaError } from '../../domain/errors/oxia-error.js';

/** Where `--conf` points: a YAML file, or (Oxia's `configmap:<namespace>/<name>`) a ConfigMap's config.yaml. */
export type ClusterConfigLocation =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string };

const CONFIGMAP_PREFIX = 'configmap:';
/** Kubernetes object and namespace names: DNS-1123 subdomains / labels. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parseClusterConfigLocation(conf: string): ClusterConfigLocation {
  const value = conf.trim();
  if (value === '') throw new OxiaError('InvalidArgument', '--conf: a cluster config file or configmap:<namespace>/<name> is required');
  if (!value.startsWith(CONFIGMAP_PREFIX)) return { kind: 'file', path: value };
  const [namespace, name, ...rest] = value.slice(CONFIGMAP_PREFIX.length).split('/');
  if (!namespace || !name || rest.length > 0 || !K8S_NAME.test(namespace) || !K8S_NAME.test(name)) {
    throw new OxiaError('InvalidArgument', `--conf: "${conf}" is not configmap:<namespace>/<name> with Kubernetes names`);
  }
  return { kind: 'configmap', namespace, name };
}
