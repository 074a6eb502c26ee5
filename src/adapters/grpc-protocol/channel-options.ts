/**
 * Options every long-lived gRPC channel of the project sets (the client library's, the
 * leader's to its followers, the coordinator's to the nodes).
 *
 * Channelz off: grpc-js keeps channelz statistics for every call and message by default
 * (call counters, a timestamp per message), which nothing here reads. Measured on a 3-node
 * cluster with 256 closed-loop callers (ADR 0016, sixth pass), turning it off gave 5-7% more
 * gets/s and 2-6% more puts/s.
 *
 * Servers keep it on: grpc-js's forceShutdown() finds the connections it must cut only in
 * its channelz session table, so without channelz a call that ignores shutdown would keep a
 * server from stopping (tests/adapters/grpc-public-server.test.ts).
 */
export const CHANNEL_OPTIONS_COMMON = Object.freeze({ 'grpc.enable_channelz': 0 });
