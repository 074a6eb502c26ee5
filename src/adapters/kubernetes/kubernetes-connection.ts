import type { KubeConfig } from '@kubernetes/client-node';
import type { ServiceIdentifier } from 'inversify';

/**
 * How the Kubernetes adapters reach the API server. Bootstrap builds the KubeConfig
 * (in-cluster service account, or ~/.kube/config); tests point it at tests/support/fake-kube-api.ts.
 */
export interface KubernetesConnection {
  readonly kubeConfig: KubeConfig;
  /** Bound on one API request (default 10 s). Watches are bounded by watchTimeoutSeconds instead. */
  readonly requestTimeoutMs?: number;
  /** The server ends each watch after about this long and the adapter starts another (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  /** Backoff between attempts after an API error (defaults 200 ms doubling to 10 s). */
  readonly retryDelayMs?: number;
  readonly retryDelayMsMax?: number;
}
export const KubernetesConnection: ServiceIdentifier<KubernetesConnection> = Symbol.for('oxia.KubernetesConnection');

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
export const DEFAULT_RETRY_DELAY_MS = 200;
export const DEFAULT_RETRY_DELAY_MS_MAX = 10_000;
