/**
 * Options every long-lived gRPC channel of the project sets (the client library's, the
 * leader's to its followers, the coordinator's to the nodes), and its servers too.
 *
 * Channelz off: grpc-js keeps channelz statistics for every call and message by default
 * (call counters, a timestamp per message), which nothing here reads. Measured on a 3-node
 * cluster with 256 closed-loop callers (ADR 0016, sixth pass), turning it off gave 5-7% more
 * gets/s and 2-6% more puts/s.
 *
 * A server without channelz must cut its connections itself when a shutdown times out:
 * grpc-js's forceShutdown() finds them only in its channelz table (see grpc-server.ts and
 * server-sessions.ts; tests/adapters/grpc-public-server.test.ts hangs otherwise).
 */
export const CHANNEL_OPTIONS_COMMON = Object.freeze({ 'grpc.enable_channelz': 0 });
