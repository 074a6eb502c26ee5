// Scripted Oxia servers for the client's gRPC tests: OxiaClient handlers given by the test,
// every other method answering UNIMPLEMENTED, on a free loopback port.
import * as grpc from '@grpc/grpc-js';
import { OxiaClientService } from '../../../src/adapters/grpc-protocol/service-definitions.js';
import { ShardKeyRouter } from '../../../src/domain/wire/client.js';

export type OxiaClientHandlers = Partial<Record<keyof typeof OxiaClientService, grpc.UntypedHandleCall>>;

/** The version every scripted success carries. */
export const okVersion = { versionId: 7n, modificationsCount: 0n, createdTimestamp: 1000n, modifiedTimestamp: 1000n };

/** OxiaClient's handlers: the test's, and UNIMPLEMENTED for the rest. */
export function oxiaClientImplementation(handlers: OxiaClientHandlers): grpc.UntypedServiceImplementation {
  const unimplemented = (_call: unknown, cb?: (e: Partial<grpc.StatusObject>) => void) => cb?.({ code: grpc.status.UNIMPLEMENTED });
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(OxiaClientService)) impl[name] = (handlers as Record<string, grpc.UntypedHandleCall>)[name] ?? (unimplemented as grpc.UntypedHandleCall);
  return impl;
}

/** Binds `server` to a free loopback port; resolves with its address. */
export async function listen(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

/** GetShardAssignments: one namespace, `default`, one shard over the whole hash range, led by `leader()`. */
export function assignmentsFor(leader: () => string): grpc.UntypedHandleCall {
  return (call: grpc.ServerWritableStream<unknown, unknown>) => {
    call.write({
      namespaces: {
        default: {
          shardKeyRouter: ShardKeyRouter.XXHASH3,
          assignments: [{ shard: 0n, leader: leader(), shardBoundaries: { $case: 'int32HashRange', value: { minHashInclusive: 0, maxHashInclusive: 0xffffffff } } }],
        },
      },
      allowedAuthorities: [],
    });
  };
}
