import type { AppliedEntry } from '../../domain/database/api.js';
import { readSessions, sessionDeleteRequest, sessionPutRequest } from '../../domain/database/index.js';
import type { KvReadView } from '../../domain/database/kv-view.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { Status, WriteRequest } from '../../domain/wire/client.js';
import type { LogEntryValue } from '../../domain/wire/storage.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ShardMetrics } from './shard-metrics.js';

export const SESSION_TIMEOUT_MS_MIN = 2_000;
export const SESSION_TIMEOUT_MS_MAX = 5 * 60_000;

interface LiveSession {
  readonly id: bigint;
  readonly timeoutMs: number;
  /** The principal that created it; '' when the server checked no credentials. */
  readonly owner: string;
  cancelExpiry: () => void;
}

/** How the session manager writes through its shard's log. */
export type Propose = (build: (offset: bigint) => LogEntryValue) => Promise<AppliedEntry>;

/**
 * The leader's bookkeeping of client sessions on one shard. A session is a record
 * under an internal key written through the log (so followers and restarts know it);
 * its id is the offset of the entry that created it. Liveness is the leader's alone:
 * each heartbeat pushes the expiry back, and expiry or close deletes the session key
 * through the log, which deletes the session's ephemeral records in the same entry.
 */
export class SessionManager {
  private readonly sessions = new Map<bigint, LiveSession>();
  private closed = false;

  constructor(
    private readonly propose: Propose,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Pick<ShardMetrics, 'session'>,
  ) {}

  /** A new leader adopts the sessions recorded in the store, each with a full timeout. */
  async recover(view: KvReadView): Promise<void> {
    for (const [id, metadata] of await readSessions(view)) this.track(id, metadata.timeoutMs, metadata.owner);
  }

  /** `owner`: the authenticated principal creating it, undefined when the server checks no credentials. */
  async create(timeoutMs: number, clientIdentity: string, owner?: string): Promise<bigint> {
    if (!Number.isInteger(timeoutMs) || timeoutMs < SESSION_TIMEOUT_MS_MIN || timeoutMs > SESSION_TIMEOUT_MS_MAX) {
      throw new OxiaError(
        'InvalidSessionTimeout',
        `session timeout ${timeoutMs} ms is out of range: it must be from ${SESSION_TIMEOUT_MS_MIN} to ${SESSION_TIMEOUT_MS_MAX} ms`,
      );
    }
    this.assertOpen();
    let sessionId = -1n;
    const applied = await this.propose((offset) => {
      sessionId = offset;
      const put = sessionPutRequest(offset, { timeoutMs, identity: clientIdentity, owner: owner ?? '' });
      return { value: { $case: 'requests', value: { writes: [WriteRequest.fromPartial({ puts: [put] })] } } };
    });
    const status = applied.responses[0]?.puts[0]?.status;
    if (status !== Status.OK) throw new Error(`bug: registering session ${sessionId} answered status ${status}`);
    this.track(sessionId, timeoutMs, owner ?? '');
    this.metrics.session('created');
    return sessionId;
  }

  /** `caller`: the authenticated principal, undefined when the server checks no credentials. */
  keepAlive(id: bigint, caller?: string): void {
    const session = this.lookup(id, caller);
    session.cancelExpiry();
    session.cancelExpiry = this.clock.schedule(session.timeoutMs, () => void this.expire(id));
  }

  async close(id: bigint, caller?: string): Promise<void> {
    const session = this.lookup(id, caller);
    session.cancelExpiry();
    this.sessions.delete(id);
    this.metrics.session('closed');
    await this.removeThroughLog(id);
  }

  /** Keeps the live set in step with entries applied by anyone (e.g. a client deleting a session key). */
  onApplied(entries: readonly AppliedEntry[]): void {
    for (const entry of entries) {
      for (const id of entry.sessionsRemoved) {
        this.sessions.get(id)?.cancelExpiry();
        this.sessions.delete(id);
      }
    }
  }

  get liveCount(): number {
    return this.sessions.size;
  }

  /** Stops all expiry timers (the shard is closing or losing leadership); records stay. */
  shutdown(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.cancelExpiry();
    this.sessions.clear();
  }

  private track(id: bigint, timeoutMs: number, owner: string): void {
    this.sessions.get(id)?.cancelExpiry();
    const session: LiveSession = { id, timeoutMs, owner, cancelExpiry: () => {} };
    session.cancelExpiry = this.clock.schedule(timeoutMs, () => void this.expire(id));
    this.sessions.set(id, session);
  }

  private async expire(id: bigint): Promise<void> {
    if (this.closed || !this.sessions.has(id)) return;
    this.sessions.delete(id);
    this.metrics.session('expired');
    this.log.info('session expired', { sessionId: id.toString() });
    try {
      await this.removeThroughLog(id);
    } catch (e) {
      // The shard is failing or closing; the next leader adopts the session and expires it again.
      this.log.warn('could not remove expired session', { sessionId: id.toString(), error: String(e) });
    }
  }

  private async removeThroughLog(id: bigint): Promise<void> {
    const del = sessionDeleteRequest(id);
    await this.propose(() => ({
      value: { $case: 'requests', value: { writes: [WriteRequest.fromPartial({ deletes: [del] })] } },
    }));
  }

  /**
   * The live session, when `caller` may act on it: a session created by an
   * authenticated principal answers only to that principal (else anyone could end
   * another application's locks by closing its session).
   */
  private lookup(id: bigint, caller: string | undefined): LiveSession {
    this.assertOpen();
    const session = this.sessions.get(id);
    if (!session) throw new OxiaError('SessionNotFound', `session ${id} does not exist (expired or closed)`);
    if (session.owner !== '' && caller !== undefined && caller !== session.owner) {
      throw new OxiaError('PermissionDenied', `session ${id} was created by another principal: "${caller}" may not keep it alive or close it`);
    }
    return session;
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', 'the shard is closing');
  }
}
