// Renders of deploy/helm/oxia-ts that the checks of deploy/kubernetes (manifests.test.ts) run on,
// beyond those equal to a kustomization (helm-chart.test.ts): another release name and namespace,
// more storage nodes and shards, another KV backend and storage class, and every option on at once.
import type { Value } from './go-template.js';
import { renderChart, type Release } from './helm-chart.js';
import type { Deployment } from './kubernetes-objects.js';

export interface HelmVariant {
  readonly name: string;
  readonly values: Value;
  readonly release: Release;
  readonly render: () => Deployment;
}

function variant(name: string, values: Value, release: Release): HelmVariant {
  return { name: `helm chart: ${name}`, values, release, render: () => renderChart(values, release) };
}

export const HELM_VARIANTS: readonly HelmVariant[] = [
  variant(
    'release prod in namespace metadata, 5 storage nodes, LevelDB, 2 namespaces',
    {
      server: { replicas: 5, kv: 'level', storage: { className: 'fast-ssd', size: '50Gi' } },
      coordinator: { replicas: 3 },
      config: {
        namespaces: [
          { name: 'default', initialShardCount: 8, replicationFactor: 3 },
          { name: 'bookkeeper', initialShardCount: 4, replicationFactor: 3, keySorting: 'natural' },
        ],
      },
      metrics: { oxiaCluster: 'prod', serviceMonitor: { enabled: true } },
    },
    { name: 'prod', namespace: 'metadata' },
  ),
  variant(
    'everything on: TLS, OIDC with a static key, an authorization policy, Kubernetes discovery, ServiceMonitors, the console',
    {
      tls: { enabled: true },
      coordinator: { discovery: 'kubernetes' },
      auth: {
        oidc: {
          enabled: true,
          providerParams: '{"issuers": {"https://issuer.example.com": {"allowedAudiences": "oxia", "userNameClaim": "sub", "staticKeyFile": "/etc/oxia-ts/oidc/public-key.pem"}}}',
          staticKeySecret: 'oxia-oidc-key',
        },
        authorizationPolicy: { enabled: true },
      },
      console: { enabled: true },
      metrics: { serviceMonitor: { enabled: true, interval: '15s' } },
    },
    { name: 'oxia', namespace: 'oxia' },
  ),
];
