import type { GetRequest, GetResponse, PutRequest, PutResponse, Status } from '../../../domain/wire/client.js';
import { Status as WireStatus } from '../../../domain/wire/client.js';
import type { GetResult, PutResult } from '../types.js';
import type { Admission } from './admission.js';
import { toGetResult, toVersion } from './convert.js';
import { publicError, statusError } from './public-error.js';
import type { GetOp } from './read-path.js';
import type { PutOp } from './write-path.js';

/** What an operation is, for messages; built only when one is needed. */
export const describeGet = (key: string): string => `get '${key}'`;
export const describePut = (key: string): string => `put '${key}'`;

/**
 * A single-shard operation in a batch that settles the caller's promise itself: on the
 * batch's answer it releases its admission slot, then resolves with the public result or
 * rejects with the public error. The hot path of gets and puts: no async frame and no
 * intermediate promise per operation.
 */
abstract class PointOperation<Response extends { readonly status: Status }, Result> {
  constructor(
    readonly sizeBytes: number,
    readonly deadlineMs: number,
    private readonly admission: Admission,
    private readonly settle: (result: Result) => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  protected abstract what(): string;
  protected abstract result(response: Response): Result;

  resolve(response: Response): void {
    this.admission.release(this.sizeBytes);
    if (response.status !== WireStatus.OK) {
      this.fail(statusError(response.status, this.what()));
      return;
    }
    try {
      this.settle(this.result(response));
    } catch (e) {
      this.fail(e);
    }
  }

  reject(error: unknown): void {
    this.admission.release(this.sizeBytes);
    this.fail(publicError(error, this.what()));
  }
}

/** A get routed to one shard (EQUAL, or any comparison with a partition key). */
export class PointGet extends PointOperation<GetResponse, GetResult> implements GetOp {
  constructor(
    readonly request: GetRequest,
    readonly routingKey: string,
    sizeBytes: number,
    deadlineMs: number,
    admission: Admission,
    settle: (result: GetResult) => void,
    fail: (error: unknown) => void,
  ) {
    super(sizeBytes, deadlineMs, admission, settle, fail);
  }

  protected what(): string {
    return describeGet(this.request.key);
  }

  protected result(response: GetResponse): GetResult {
    return toGetResult(response, this.request.key, this.what());
  }
}

/** A plain (not ephemeral) put. */
export class PointPut extends PointOperation<PutResponse, PutResult> implements PutOp {
  readonly kind = 'put';

  constructor(
    readonly request: PutRequest,
    sizeBytes: number,
    deadlineMs: number,
    admission: Admission,
    settle: (result: PutResult) => void,
    fail: (error: unknown) => void,
  ) {
    super(sizeBytes, deadlineMs, admission, settle, fail);
  }

  protected what(): string {
    return describePut(this.request.key);
  }

  protected result(response: PutResponse): PutResult {
    return { key: response.key ?? this.request.key, version: toVersion(response.version, this.what()) };
  }
}
