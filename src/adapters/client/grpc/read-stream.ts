import { status as GrpcStatus, type ClientDuplexStream } from '@grpc/grpc-js';
import type { GetResponse, ReadRequest } from '../../../domain/wire/client.js';
import type { ReadStreamRequest, ReadStreamResponse } from '../../../domain/wire/client_extensions.js';
import { RpcError } from '../internal/rpc-error.js';
import { rpcErrorOf, rpcErrorOfStatus } from './grpc-errors.js';

/** A read sent on the stream, waiting for its answer. */
interface PendingRead {
  readonly request: ReadRequest;
  readonly signal: AbortSignal;
  readonly gets: GetResponse[];
  readonly resolve: (gets: GetResponse[]) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
}

/** How a ReadStreamChannel reaches its server. */
export interface ReadStreamPort {
  /** Opens a ReadStream call to the server. */
  open(): ClientDuplexStream<ReadStreamRequest, ReadStreamResponse>;
  /** One OxiaClient.Read call: for servers without ReadStream (Oxia's own, older oxia-ts). */
  readCall(request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]>;
}

/**
 * The read batches to one server on one long-lived ReadStream call (ADR 0034) instead of one
 * Read call each: a gRPC call costs both sides several times what a message on an open
 * stream does. Answers are matched to requests by id. A failed request fails alone; when the
 * stream itself fails, every read outstanding on it fails with that error (the read path
 * retries them) and the next read opens a new stream. A server that answers the stream with
 * UNIMPLEMENTED before any answer does not have it: the reads outstanding go as Read calls,
 * and so does every later read to that server.
 */
export class ReadStreamChannel {
  private call: ClientDuplexStream<ReadStreamRequest, ReadStreamResponse> | undefined;
  /** By id (a number: ids stay far below 2^53, and number keys are cheaper than bigint ones). */
  private readonly pending = new Map<number, PendingRead>();
  private nextId = 0;
  /** Whether the current call has answered anything (an UNIMPLEMENTED after that is not a missing method). */
  private answered = false;
  private unsupported = false;
  private closed = false;

  constructor(
    private readonly port: ReadStreamPort,
    private readonly target: string,
  ) {}

  /** The responses to `request.gets`, in order, as ClientTransport.read gives them. */
  read(request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]> {
    if (this.unsupported) return this.port.readCall(request, signal);
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (this.closed) return reject(this.closedError());
      const call = this.stream(); // first: when it cannot open, nothing is left registered
      const id = ++this.nextId;
      const onAbort = (): void => {
        // Its answer, if one comes, is dropped: reads change nothing, so nothing is undone.
        if (this.pending.delete(id)) reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { request, signal, gets: [], resolve, reject, onAbort });
      call.write({ id: BigInt(id), read: request });
    });
  }

  /** Fails the reads outstanding and ends the stream. */
  close(): void {
    this.closed = true;
    const call = this.call;
    this.call = undefined;
    this.failAll(this.closedError());
    call?.cancel();
  }

  private stream(): ClientDuplexStream<ReadStreamRequest, ReadStreamResponse> {
    if (this.call !== undefined) return this.call;
    const call = this.port.open();
    this.call = call;
    this.answered = false;
    call.on('data', (message: ReadStreamResponse) => {
      this.answered = true;
      this.onAnswer(message);
    });
    // grpc-js emits 'error' for a failed status, else 'end' once the server is done.
    call.on('error', (e: unknown) => this.onStreamEnd(call, e));
    call.on('end', () => this.onStreamEnd(call, undefined));
    return call;
  }

  private onAnswer(message: ReadStreamResponse): void {
    const id = Number(message.id);
    const read = this.pending.get(id);
    if (read === undefined) return; // abandoned by its caller
    if (message.status !== undefined) {
      this.settle(id, read);
      read.reject(rpcErrorOfStatus(message.status, this.target));
      return;
    }
    if (message.response !== undefined) for (const g of message.response.gets) read.gets.push(g);
    if (message.last) {
      this.settle(id, read);
      read.resolve(read.gets);
    }
  }

  private onStreamEnd(call: ClientDuplexStream<ReadStreamRequest, ReadStreamResponse>, error: unknown): void {
    if (this.call !== call) return; // an earlier stream, already replaced
    this.call = undefined;
    call.cancel();
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === GrpcStatus.UNIMPLEMENTED && !this.answered && !this.closed) {
      this.unsupported = true;
      for (const read of this.takePending()) this.port.readCall(read.request, read.signal).then(read.resolve, read.reject);
      return;
    }
    this.failAll(error === undefined ? new RpcError('Unavailable', `read stream to ${this.target} ended with reads outstanding`) : rpcErrorOf(error, this.target));
  }

  private failAll(error: RpcError): void {
    for (const read of this.takePending()) read.reject(read.signal.aborted ? read.signal.reason : error);
  }

  /** Every read outstanding, no longer registered nor listening for its abort. */
  private takePending(): PendingRead[] {
    const reads = [...this.pending.values()];
    this.pending.clear();
    for (const read of reads) read.signal.removeEventListener('abort', read.onAbort);
    return reads;
  }

  private closedError(): RpcError {
    return new RpcError('Closed', `transport is closed (read from ${this.target})`);
  }

  private settle(id: number, read: PendingRead): void {
    this.pending.delete(id);
    read.signal.removeEventListener('abort', read.onAbort);
  }
}
