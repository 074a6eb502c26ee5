// The official Oxia Node client's call pattern, reproduced with plain @grpc/grpc-js (no
// client library): one channel per server, the shard-assignments stream held open,
// a unary Write per put, and a Read per get that is cancelled as soon as its first
// message arrives. Hundreds of such callers at once must see no failure at all:
// Node's HTTP/2 server answers a flood of client RST_STREAMs (more than 1,000 at
// once, then 33 a second) with GOAWAY INTERNAL_ERROR, which fails every open call of
// the connection, the assignments stream included (ADR 0017).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { GetRequest, PutRequest, ShardAssignmentsRequest, type ReadResponse, type ShardAssignments } from '../../src/domain/wire/client.js';
import { RawOxiaClient, type ShardInfo } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';

const CALLERS = 256;
/** Enough operations that a connection would cross the reset limit several times over. */
const OPERATIONS_PER_CALLER = 40;
const VALUE = Buffer.alloc(128, 7);
/** A call that hangs is a failure too, reported instead of stalling the test. */
const CALL_DEADLINE_MS = 20_000;
const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + CALL_DEADLINE_MS });

let server: StandaloneProcess;
let raw: RawOxiaClient;
let shards: ShardInfo[];

test.before(async () => {
  server = await startStandalone({ shards: 3 });
  raw = new RawOxiaClient(server.address);
  shards = await raw.shards();
});

test.after(async () => {
  raw?.close();
  await server?.stop();
});

function putWithDeadline(shard: bigint, key: string): Promise<void> {
  const request = { shard, puts: [PutRequest.fromPartial({ key, value: VALUE })], deletes: [], deleteRanges: [] };
  return new Promise((resolve, reject) =>
    raw.client.write(request, new grpc.Metadata(), deadline(), (e: grpc.ServiceError | null) => (e ? reject(e) : resolve())),
  );
}

/** The official client's firstStreamMessage: resolve on the first message, then cancel. */
function firstMessage(call: grpc.ClientReadableStream<ReadResponse>): Promise<ReadResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    call.on('data', (m: ReadResponse) => {
      if (settled) return;
      settled = true;
      call.cancel();
      resolve(m);
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    call.on('end', () => {
      if (settled) return;
      settled = true;
      reject(new Error('stream ended without any message'));
    });
  });
}

test('closed-loop puts and gets in the official client pattern: none fails, the assignments stream stays open', async () => {
  const errors: string[] = [];
  let assignmentsFailure: grpc.ServiceError | undefined;
  const assignments = raw.client.getShardAssignments(ShardAssignmentsRequest.fromPartial({ namespace: 'default' }));
  assignments.on('data', (_m: ShardAssignments) => {});
  assignments.on('error', (e: grpc.ServiceError) => {
    if (e.code !== grpc.status.CANCELLED) assignmentsFailure = e;
  });

  const caller = async (c: number): Promise<void> => {
    for (let i = 0; i < OPERATIONS_PER_CALLER; i++) {
      const key = `/pattern/${c}/${i % 4}`;
      const shard = RawOxiaClient.shardFor(shards, key);
      try {
        if (i % 4 === 0) {
          await putWithDeadline(shard, key);
        } else {
          const response = await firstMessage(raw.client.read({ shard, gets: [GetRequest.fromPartial({ key: `/pattern/${c}/0`, includeValue: true })] }, new grpc.Metadata(), deadline()));
          assert.is(response.gets.length, 1);
        }
      } catch (e) {
        errors.push(String((e as Error).message));
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
  assignments.cancel();

  const distinct = [...new Set(errors)].slice(0, 5);
  assert.is(errors.length, 0, `${errors.length} of ${CALLERS * OPERATIONS_PER_CALLER} operations failed: ${distinct.join(' | ')}`);
  assert.is(assignmentsFailure, undefined, `the assignments stream failed: ${assignmentsFailure?.message}`);
});

test.run();
