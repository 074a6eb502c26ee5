/**
 * Requests whose bytes do not decode. grpc-js answers a throwing deserializer with
 * INTERNAL, which says "server bug"; a client that sends garbage should hear
 * INVALID_ARGUMENT instead. So on the server side the deserializer hands a
 * MalformedRequest to the handler, and the handler answers with the right status.
 */
import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { oxiaErrorToStatus } from './status-mapping.js';

export class MalformedRequest {
  constructor(readonly reason: string) {}
  /** The error a handler answers it with: in a request stream, in order with the requests before it. */
  error(): OxiaError {
    return new OxiaError('InvalidArgument', `malformed request message: ${this.reason}`);
  }
  status() {
    return oxiaErrorToStatus(this.error());
  }
}

/** The same service table, with request decoding that yields MalformedRequest instead of throwing. */
export function tolerantServerDefinition(definition: ServiceDefinition): ServiceDefinition {
  const tolerant: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    tolerant[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return new MalformedRequest(error instanceof Error ? error.message : String(error));
        }
      },
    };
  }
  return tolerant;
}

type Handler = (...args: any[]) => unknown;

/**
 * Answers a MalformedRequest in single-request methods before the handler runs.
 * Methods with request streams see MalformedRequest among their messages and must
 * answer it themselves, in order with the requests before it.
 */
export function rejectMalformedRequests(definition: ServiceDefinition, implementation: UntypedServiceImplementation): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation) as [string, Handler][]) {
    const method = definition[name];
    if (!method || method.requestStream) {
      guarded[name] = handler as UntypedServiceImplementation[string];
      continue;
    }
    const unary = !method.responseStream;
    guarded[name] = ((call: { request: unknown; emit(event: 'error', error: unknown): void }, callback?: (error: unknown) => void) => {
      if (call.request instanceof MalformedRequest) {
        if (unary) callback?.(call.request.status());
        else call.emit('error', call.request.status());
        return;
      }
      return handler(call, callback);
    }) as UntypedServiceImplementation[string];
  }
  return guarded;
}
