/**
 * The HTTP/2 connections of a grpc-js server. grpc-js keeps its Node HTTP/2 servers in a
 * private field, the only way to their sessions; if a grpc-js upgrade renames it,
 * watchSessions returns false and the caller reports what it then cannot do.
 */
import type { Server } from '@grpc/grpc-js';
import { constants as h2, type Http2Server, type ServerHttp2Session } from 'node:http2';

/** Calls `onSession` for every connection the (bound) server accepts from now on. */
export function watchSessions(server: Server, onSession: (session: ServerHttp2Session) => void): boolean {
  const http2Servers: unknown = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map)) return false;
  for (const http2Server of http2Servers.keys() as Iterable<Http2Server>) http2Server.on('session', onSession);
  return true;
}

/**
 * The connections still open, so that a shutdown whose grace period ran out can cut them.
 * grpc-js's forceShutdown() cuts only those in its channelz table, which is empty when
 * channelz is off.
 */
export class OpenSessions {
  private readonly open = new Set<ServerHttp2Session>();

  add(session: ServerHttp2Session): void {
    this.open.add(session);
    session.once('close', () => this.open.delete(session));
  }

  /** Destroys every open connection (its calls end as cancelled); returns how many there were. */
  destroyAll(): number {
    const count = this.open.size;
    for (const session of this.open) session.destroy(undefined, h2.NGHTTP2_CANCEL);
    this.open.clear();
    return count;
  }
}
