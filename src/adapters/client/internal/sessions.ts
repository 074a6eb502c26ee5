import type { HashRange } from '../../../domain/sharding/hash-range.js';
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

/**
 * One shard's session, kept alive by heartbeats until closed or lost. `range`: the shard's
 * hash range when the session was made, so that the shards replacing it after a split
 * are known once it is gone from the assignments.
 */
export class ClientSession {
  private readonly stop = new AbortController();
  private hint: LeaderHint | undefined;
  /** 'moved': its shard was split and the children keep the session alive instead. */
  state: 'active' | 'lost' | 'closed' | 'moved' = 'active';

  constructor(
    readonly shard: bigint,
    readonly sessionId: bigint,
    readonly range: HashRange | undefined,
    private readonly heartbeatMs: number,
    private readonly manager: SessionManager,
    heartbeatAtOnce = false,
  ) {
    void this.heartbeats(heartbeatAtOnce);
  }

  /**
   * Sends a heartbeat every interval. The session is lost when the server says it does
   * not know it, or when no heartbeat was acknowledged for a whole session timeout (the
   * server has expired it by then). `atOnce`: the first heartbeat goes without waiting (a
   * session inherited by a split's child, whose timer started at the child's election).
   * Until an inherited session's first acknowledged heartbeat, time while its shard has no
   * leader does not count as silence: the child is not elected yet, so its timer has not run.
   */
  private async heartbeats(atOnce: boolean): Promise<void> {
    const { transport, directory, config } = this.manager;
    let lastAckMs = monotonicMs();
    let awaitingElection = atOnce;
    for (let first = true; this.state === 'active'; first = false) {
      try {
        if (!(first && atOnce)) await sleep(this.heartbeatMs, this.stop.signal);
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
        awaitingElection = false;
      } catch (e) {
        if (this.state !== 'active') return;
        if (e instanceof RpcError && e.kind === 'SessionNotFound') {
          this.manager.lost(this, 'the server no longer knows it (expired or closed)', false);
          return;
        }
        if (e instanceof RpcError && e.leaderHint !== undefined) this.hint = e.leaderHint;
        if (awaitingElection && !directory.leaderOf(this.shard)) lastAckMs = monotonicMs();
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
 *
 * Splits (ADR 0025): both children of a split shard inherit every session record with the
 * same id, and the ephemeral records in their range. When the assignments replace a
 * session's shard by the shards within its range, the session moves to each of them: the
 * same id, kept alive there (first heartbeat at once: each child started the session's
 * timeout at its election), closed there by close(). Oxia's Go client does the same.
 */
export class SessionManager {
  private readonly sessions = new Map<bigint, ClientSession>();
  private readonly creating = new Map<bigint, Promise<ClientSession>>();
  private readonly unreported = new Map<bigint, { readonly error: SessionNotFoundError; readonly range: HashRange | undefined }>();
  private readonly listeners = new Set<(e: SessionLostEvent) => void>();
  /** Split shards whose sessions moved: the shards that took them over. */
  private readonly movedTo = new Map<bigint, readonly bigint[]>();
  private closing = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly transport: ClientTransport,
    readonly directory: ShardDirectory,
    readonly config: SessionConfig,
    private readonly closed: AbortSignal,
  ) {
    this.unsubscribe = directory.onChange(() => this.followSplits());
  }

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
      throw loss.error;
    }
    // A put routed before a split sees the session on a child: the same id, valid on every child.
    const existing = this.sessions.get(shard) ?? this.inherited(shard);
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
    const session = new ClientSession(shard, response.sessionId, this.directory.get(shard)?.range, heartbeatMs, this);
    if (this.closing) {
      await session.end(true);
      throw new RpcError('Closed', 'client closed');
    }
    this.sessions.set(shard, session);
    // The shard may have been split while the session was being created.
    this.followSplits();
    return session;
  }

  private inherited(shard: bigint): ClientSession | undefined {
    for (const child of this.movedTo.get(shard) ?? []) {
      const session = this.sessions.get(child) ?? this.inherited(child);
      if (session?.state === 'active') return session;
    }
    return undefined;
  }

  /**
   * Moves the sessions of shards gone from the assignments to the shards now covering
   * their range (the split's children). A shard gone with nothing yet within its range
   * keeps its session until the children show up.
   */
  private followSplits(): void {
    if (this.closing || this.directory.size === 0) return;
    for (const [shard, session] of [...this.sessions]) {
      if (session.state !== 'active' || session.range === undefined || this.directory.get(shard) !== undefined) continue;
      const successors = this.directory.within(session.range);
      if (successors.length === 0) continue;
      // Valid here: a session exists, so its configuration was accepted.
      const heartbeatMs = heartbeatIntervalFor(this.config.sessionTimeoutMs, this.config.heartbeatIntervalMs);
      for (const child of successors) {
        const existing = this.sessions.get(child.id);
        if (existing !== undefined && existing.state === 'active') continue;
        this.sessions.set(child.id, new ClientSession(child.id, session.sessionId, child.range, heartbeatMs, this, true));
      }
      this.config.logger.debug?.(`session ${session.sessionId} moved from shard ${shard} to shards ${successors.map((c) => c.id).join(', ')}`);
      this.sessions.delete(shard);
      this.movedTo.set(shard, successors.map((c) => c.id));
      session.state = 'moved';
      void session.end(false);
    }
    // A loss not yet reported on a split shard is reported by the next ephemeral put to a child.
    for (const [shard, loss] of [...this.unreported]) {
      if (loss.range === undefined || this.directory.get(shard) !== undefined) continue;
      const successors = this.directory.within(loss.range);
      if (successors.length === 0) continue;
      this.unreported.delete(shard);
      for (const child of successors) if (!this.unreported.has(child.id)) this.unreported.set(child.id, { error: loss.error, range: child.range });
    }
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
    if (!reported) this.unreported.set(session.shard, { error: new SessionNotFoundError(message), range: session.range });
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
    this.unsubscribe();
    await Promise.allSettled([...this.creating.values()]);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.end(true)));
  }
}
