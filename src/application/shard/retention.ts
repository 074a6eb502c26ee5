import { notificationTrimOps } from '../../domain/database/index.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Wal } from '../ports/wal.js';

export interface RetentionPass {
  readonly wal: Wal;
  readonly kv: KvStore;
  /** Wall clock now (ms since the epoch). */
  readonly nowMs: number;
  /** The highest offset the replica applied to `kv` when the pass starts. */
  readonly appliedOffset: bigint;
  readonly walRetentionMs: number;
  /** Undefined when the shard keeps no notifications. */
  readonly notificationsRetentionMs: number | undefined;
  /** False once the shard closed (the store must not be written then). */
  readonly open: () => boolean;
}

/**
 * One retention pass over a shard replica, leader or follower: the log drops entries older than
 * its retention, never past what the store holds durably, and the store drops notifications older
 * than theirs. The store is flushed before the log is cut: a write-behind store (ADR 0016) may hold
 * applied entries only in memory, and the log is then their only durable copy.
 */
export async function applyRetention(pass: RetentionPass): Promise<void> {
  const now = BigInt(Math.trunc(pass.nowMs));
  await pass.kv.flush();
  await pass.wal.expire(now - BigInt(pass.walRetentionMs), pass.appliedOffset);
  if (pass.notificationsRetentionMs === undefined) return;
  const ops = await notificationTrimOps(pass.kv, now - BigInt(pass.notificationsRetentionMs));
  if (ops.length > 0 && pass.open()) await pass.kv.write(ops);
}
