import { OxiaError } from '../../domain/errors/oxia-error.js';

/**
 * Resolves like `promise`, or rejects with `reason()` as soon as `signal` aborts: for
 * awaiting something (the next message of a stream) that cannot itself be cancelled.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, reason: () => OxiaError): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** An AbortController that also aborts when any of `parents` does. */
export function linkedAbortController(...parents: readonly AbortSignal[]): AbortController {
  const controller = new AbortController();
  for (const parent of parents) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  }
  return controller;
}
