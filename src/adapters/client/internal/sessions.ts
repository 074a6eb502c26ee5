import { SessionNotFoundError } from '../errors.js';
import { heartbeatIntervalFor, type ClientLogger } from '../options.js';
import { sleep } from './backoff.js';
import { monotonicMs, withRetries } from './retry.js';
import { RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget } from './shard-target.js';
import type { ClientTransport } from './transport.js';

/** Reported when a session ends without `close()`: its ephemeral records are gone. */
export interface SessionLostEvent {
  readonly shard: number;
  readonly sessionId: number;
  readonly reason: string;
}

export interface SessionConfig {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number | undefined;
  readonly clientIdentity: string;
  readonly requestTimeoutMs: number;
  readonly logger: ClientLogger;
}

/** One shard's session, kept alive by heartbeats until closed or lost. */
export class ClientSession {
  private readonly stop = new AbortController();
  private hint: LeaderHint | undefined;
  state: 'active' | 'lost' | 'closed' = 'active';

  constructor(
    readonly shard: bigint,
    readonly sessionId: bigint,
    private readonly heartbeatMs: number,
    private readonly manager: SessionManager,
  ) {
    void this.heartbeats();
  }

  /**
   * Sends a heartbeat every interval. The session is lost when the server says it does
   * not know it, or when no heartbeat was acknowledged for a whole session timeout (the
   * server has expired it by then).
   */
  private async heartbeats(): Promise<void> {
    const { transport, directory, config } = this.manager;
    let lastAckMs = monotonicMs();
    while (this.state === 'active') {
      try {
        await sleep(this.heartbeatMs, this.stop.signal);
      } catch {
        return;
      }
      const callTimeoutMs = Math.min(config.sessionTimeoutMs, 2 * this.heartbeatMs + 1000);
      const call = new AbortController();
      const timer = setTimeout(() => call.abort(new RpcError('Timeout', 'heartbeat timed out')), callTimeoutMs);
      const onStop = () => call.abort(new RpcError('Closed', 'session closed'));
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        await transport.keepAlive(shardTarget(directory, this.shard, this.hint), { shard: this.shard, sessionId: this.sessionId }, call.signal);
        lastAckMs = monotonicMs();
      } catch (e) {
        if (this.state !== 'active') return;
        if (e instanceof RpcError && e.kind === 'SessionNotFound') {
          this.manager.lost(this, 'the server no longer knows it (expired or closed)', false);
          return;
        }
        if (e instanceof RpcError && e.leaderHint !== undefined) this.hint = e.leaderHint;
        const silentMs = monotonicMs() - lastAckMs;
        if (silentMs >= config.sessionTimeoutMs) {
          const why = e instanceof Error ? e.message : String(e);
          this.manager.lost(this, `no heartbeat was acknowledged for ${Math.round(silentMs)} ms (last error: ${why})`, false);
          return;
        }
      } finally {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', onStop);
      }
    }
  }

  /** Stops heartbeats; `closeOnServer` also ends it on the server (removing its ephemerals). */
  async end(closeOnServer: boolean): Promise<void> {
    if (this.state === 'active') this.state = 'closed';
    this.stop.abort();
    if (!closeOnServer) return;
    const { transport, directory, config } = this.manager;
    try {
      await withRetries(
        { deadlineMs: monotonicMs() + Math.min(config.requestTimeoutMs, config.sessionTimeoutMs), timeoutMs: config.requestTimeoutMs, closed: new AbortController().signal, what: `close session ${this.sessionId} on shard ${this.shard}` },
        (hint, signal) => transport.closeSession(shardTarget(directory, this.shard, hint ?? this.hint), { shard: this.shard, sessionId: this.sessionId }, signal),
      );
    } catch (e) {
      // Not fatal: the server expires the session after its timeout anyway.
      if (!(e instanceof RpcError && e.kind === 'SessionNotFound')) {
        config.logger.debug?.(`closing session ${this.sessionId} on shard ${this.shard} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/**
 * Sessions per shard, created on the first ephemeral put to the shard and shared by all
 * later ones. A session lost in the background is announced to listeners and makes the
 * next ephemeral put to that shard fail with SessionNotFoundError (after which a new
 * session is created), so the loss of ephemeral records never goes unnoticed.
 */
export class SessionManager {
  private readonly sessions = new Map<bigint, ClientSession>();
  private readonly creating = new Map<bigint, Promise<ClientSession>>();
  private readonly unreported = new Map<bigint, SessionNotFoundError>();
  private readonly listeners = new Set<(e: SessionLostEvent) => void>();
  private closing = false;

  constructor(
    readonly transport: ClientTransport,
    readonly directory: ShardDirectory,
    readonly config: SessionConfig,
    private readonly closed: AbortSignal,
  ) {}

  onSessionLost(listener: (e: SessionLostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The shard's live session, creating it if needed. */
  async session(shard: bigint, deadlineMs: number): Promise<ClientSession> {
    const heartbeatMs = heartbeatIntervalFor(this.config.sessionTimeoutMs, this.config.heartbeatIntervalMs);
    const loss = this.unreported.get(shard);
    if (loss !== undefined) {
      this.unreported.delete(shard);
      throw loss;
    }
    const existing = this.sessions.get(shard);
    if (existing !== undefined && existing.state === 'active') return existing;
    let pending = this.creating.get(shard);
    if (pending === undefined) {
      pending = this.create(shard, heartbeatMs, deadlineMs).finally(() => this.creating.delete(shard));
      this.creating.set(shard, pending);
    }
    return pending;
  }

  private async create(shard: bigint, heartbeatMs: number, deadlineMs: number): Promise<ClientSession> {
    const response = await withRetries(
      { deadlineMs, timeoutMs: this.config.requestTimeoutMs, closed: this.closed, what: `create session on shard ${shard}` },
      (hint, signal) =>
        this.transport.createSession(
          shardTarget(this.directory, shard, hint),
          { shard, sessionTimeoutMs: this.config.sessionTimeoutMs, clientIdentity: this.config.clientIdentity },
          signal,
        ),
    );
    const session = new ClientSession(shard, response.sessionId, heartbeatMs, this);
    if (this.closing) {
      await session.end(true);
      throw new RpcError('Closed', 'client closed');
    }
    this.sessions.set(shard, session);
    return session;
  }

  /**
   * Marks a session lost. `reported` says whether the caller already surfaced the loss
   * as an error (a put answered SESSION_DOES_NOT_EXIST); if not, the next ephemeral
   * put to the shard reports it.
   */
  lost(session: ClientSession, reason: string, reported: boolean): void {
    if (session.state !== 'active') return;
    session.state = 'lost';
    void session.end(false);
    if (this.sessions.get(session.shard) === session) this.sessions.delete(session.shard);
    const message = `session ${session.sessionId} on shard ${session.shard} was lost: ${reason}; its ephemeral records were removed`;
    if (!reported) this.unreported.set(session.shard, new SessionNotFoundError(message));
    this.config.logger.warn(message);
    const event: SessionLostEvent = { shard: Number(session.shard), sessionId: Number(session.sessionId), reason };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }

  /** A put with this session id was answered SESSION_DOES_NOT_EXIST. */
  sessionRejected(shard: bigint, sessionId: bigint): void {
    const s = this.sessions.get(shard);
    if (s !== undefined && s.sessionId === sessionId) this.lost(s, 'the server rejected a write with it', true);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.creating.values()]);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.end(true)));
  }
}
