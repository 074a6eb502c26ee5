import { ApiException, CoordinationV1Api, CoreV1Api, Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type KubernetesConnection } from './kubernetes-connection.js';

/** The HTTP status of a failed API call (ApiException from the generated client, or the Watch's error), if any. */
export function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof ApiException) return e.code;
  const code = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own words for a failure (the metav1.Status message), else the error's. */
export function describeKubeError(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: unknown; reason?: unknown };
        if (typeof status.message === 'string') return `HTTP ${e.code} ${String(status.reason ?? '')}: ${status.message}`.replace(' :', ':');
      } catch {
        // not JSON: fall through
      }
    }
    return `HTTP ${e.code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Per-request options that abort the HTTP request after `timeoutMs` (default: the connection's timeout). */
export function requestOptions(connection: KubernetesConnection, timeoutMs = connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS): ConfigurationOptions<ObservableMiddleware> {
  const abortAfterTimeout: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs))));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [abortAfterTimeout], middlewareMergeStrategy: 'append' };
}

export function coreApi(connection: KubernetesConnection): CoreV1Api {
  return connection.kubeConfig.makeApiClient(CoreV1Api);
}

export function coordinationApi(connection: KubernetesConnection): CoordinationV1Api {
  return connection.kubeConfig.makeApiClient(CoordinationV1Api);
}

/** An API failure as an OxiaError: unreachable or failing servers are ResourceUnavailable. */
export function unavailable(what: string, e: unknown): OxiaError {
  return new OxiaError('ResourceUnavailable', `${what}: ${describeKubeError(e)}`);
}
