import type { WriteRequest, WriteResponse } from '../../../domain/wire/client.js';
import { RpcError, streamBroken } from './rpc-error.js';
import type { DuplexCall } from './transport.js';

interface Pending {
  resolve(r: WriteResponse): void;
  reject(e: unknown): void;
}

/**
 * One shard's long-lived WriteStream. The server answers requests in the order it got
 * them, so responses are matched to a FIFO of waiting senders. When the stream fails or
 * ends, every waiting sender gets the failure (retryable: the batch is resent on a new
 * stream) and the channel is marked broken so that the next batch opens a new one.
 */
export class WriteStreamChannel {
  private readonly pending: Pending[] = [];
  private brokenBy: unknown;

  constructor(
    private readonly call: DuplexCall<WriteRequest, WriteResponse>,
    readonly target: string,
  ) {
    void this.readResponses();
  }

  get broken(): boolean {
    return this.brokenBy !== undefined;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  send(request: WriteRequest): Promise<WriteResponse> {
    if (this.brokenBy !== undefined) return Promise.reject(this.brokenBy);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      try {
        this.call.write(request);
      } catch (e) {
        this.fail(e instanceof RpcError ? e : streamBroken(`write stream to ${this.target} failed: ${String(e)}`));
      }
    });
  }

  /** No new requests; the ones already sent still get their responses. */
  retire(): void {
    if (this.brokenBy === undefined) this.brokenBy = streamBroken(`write stream to ${this.target} was replaced`);
    if (this.pending.length === 0) this.call.cancel();
    else this.call.end();
  }

  cancel(reason: unknown): void {
    this.fail(reason);
    this.call.cancel();
  }

  private async readResponses(): Promise<void> {
    try {
      for await (const response of this.call.responses) {
        const p = this.pending.shift();
        if (p === undefined) {
          this.cancel(streamBroken(`write stream to ${this.target} sent a response nobody waited for`));
          return;
        }
        p.resolve(response);
      }
      this.fail(streamBroken(`write stream to ${this.target} ended`));
    } catch (e) {
      this.fail(e instanceof RpcError ? e : streamBroken(`write stream to ${this.target} failed: ${String(e)}`));
    }
  }

  private fail(reason: unknown): void {
    if (this.brokenBy === undefined) this.brokenBy = reason;
    for (let p = this.pending.shift(); p !== undefined; p = this.pending.shift()) p.reject(reason);
  }
}
