import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import { LeaseConflict, type LeaseStore } from '../../application/ports/lease-store.js';
import { Logger } from '../../application/ports/logger.js';
import type { LeaseRecord, StoredLease } from '../../domain/coordinator/lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';

export interface FileLeaseStoreOptions {
  /** The lease directory (`<status file>.lease` by default, beside the status file on the shared file system). */
  readonly dir: string;
  /** Records kept behind the newest (default 16): older ones are removed. */
  readonly keep?: number;
}
export const FileLeaseStoreOptions: ServiceIdentifier<FileLeaseStoreOptions> = Symbol.for('oxia.FileLeaseStoreOptions');

/** Record files: the sequence number, zero-padded so that names sort as numbers do. */
const RECORD_NAME = /^\d{20}$/;
const TEMP_PREFIX = '.tmp-';
/** A temporary file exists for the moment between writing it and linking it; older ones were left by a crash. */
const TEMP_STALE_MS = 10 * 60_000;
const RECORD_BYTES_MAX = 64 * 1024;
/** Reads retried when the newest record vanishes under them (removed as old by a newer writer). */
const READ_ATTEMPTS = 5;

interface FileRecord {
  readonly holderIdentity: string;
  readonly leaseDurationMs: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
  /** Random per write: the version is sequence + token, so a sequence number reused after a lost write is not mistaken for the one expected. */
  readonly token: string;
}

interface Head {
  readonly seq: bigint;
  readonly lease: StoredLease;
}

const nameOf = (seq: bigint): string => seq.toString().padStart(20, '0');

/**
 * The coordinator lease on a (shared) file system, without any lock that a frozen process
 * could keep: the lease is a sequence of immutable record files in one directory, and the
 * newest is the lease.
 *
 * - A write of version N+1 writes a temporary file and hard-links it to the name N+1.
 *   link() fails if the name exists, atomically, on local and network file systems alike:
 *   of two writers that read version N only one creates N+1 (compare-and-set without a lock),
 *   and a record is visible complete or not at all.
 * - A writer checks first that the newest record is exactly the version it expects (sequence
 *   and random token), and after linking that its record is the newest: a writer paused long
 *   enough for its slot to be removed as old and then re-created finds a newer record and
 *   reports a conflict (removing its stray record).
 * - Old records beyond `keep` are removed by each writer; reads that lose a record to that
 *   removal read again.
 *
 * Nothing is fsynced: the lease is re-written every retry period, and a record lost in a
 * crash of the file server is a version that vanished, which makes its holder's next renewal
 * a conflict (it stops) and restarts every observer's wait (takeover later, never earlier).
 */
@injectable()
export class FileLeaseStore implements LeaseStore {
  readonly where: string;
  private readonly dir: string;
  private readonly keep: number;
  private closed = false;

  constructor(
    @inject(FileLeaseStoreOptions) options: FileLeaseStoreOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.dir = options.dir;
    this.keep = options.keep ?? 16;
    this.where = `lease directory ${options.dir}`;
  }

  async read(): Promise<StoredLease | undefined> {
    this.assertOpen();
    return (await this.head())?.lease;
  }

  async write(record: LeaseRecord, expectedVersion: string | undefined, _timeoutMs: number): Promise<string> {
    this.assertOpen();
    await mkdir(this.dir, { recursive: true });
    const head = await this.head();
    if (head?.lease.version !== expectedVersion) throw new LeaseConflict(this.where, expectedVersion, head?.lease.version);
    const seq = head ? head.seq + 1n : 0n;
    const token = randomBytes(8).toString('hex');
    const file: FileRecord = {
      holderIdentity: record.holder,
      leaseDurationMs: record.durationMs,
      acquireTime: new Date(record.acquiredAtMs).toISOString(),
      renewTime: new Date(record.renewedAtMs).toISOString(),
      leaseTransitions: record.transitions,
      token,
    };
    const name = join(this.dir, nameOf(seq));
    const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${token}`);
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(JSON.stringify(file));
    } finally {
      await handle.close();
    }
    try {
      await link(temp, name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new LeaseConflict(this.where, expectedVersion, undefined);
      throw new OxiaError('ResourceUnavailable', `writing the coordinator lease ${name}: ${(e as Error).message}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    const names = await this.recordNames();
    const newest = names.at(-1);
    if (newest !== nameOf(seq)) {
      await unlink(name).catch(() => undefined);
      throw new LeaseConflict(this.where, expectedVersion, newest);
    }
    await this.removeOld(names, seq);
    return versionOf(seq, token);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async head(): Promise<Head | undefined> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const newest = (await this.recordNames()).at(-1);
      if (newest === undefined) return undefined;
      let text: string;
      try {
        const path = join(this.dir, newest);
        if ((await stat(path)).size > RECORD_BYTES_MAX) throw new OxiaError('InvalidArgument', `coordinator lease record ${path} is too big to be one`);
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed as old under us: read again
        throw e;
      }
      const seq = BigInt(newest);
      return { seq, lease: { record: parseRecord(text, join(this.dir, newest)), version: versionOf(seq, tokenOf(text)) } };
    }
    throw new OxiaError('ResourceUnavailable', `the newest record in ${this.where} kept disappearing while being read`);
  }

  private async recordNames(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => RECORD_NAME.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Removes records more than `keep` behind the one just written, and temporary files left by crashes. */
  private async removeOld(names: readonly string[], newest: bigint): Promise<void> {
    for (const n of names) {
      if (BigInt(n) < newest - BigInt(this.keep)) await unlink(join(this.dir, n)).catch(() => undefined);
    }
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (!n.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.dir, n);
      const s = await stat(path).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > TEMP_STALE_MS) {
        this.logger.warn('removing a temporary lease file left by an interrupted write', { file: path });
        await unlink(path).catch(() => undefined);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `${this.where} is closed`);
  }
}

function versionOf(seq: bigint, token: string): string {
  return `${seq}.${token}`;
}

function tokenOf(text: string): string {
  try {
    const token = (JSON.parse(text) as { token?: unknown }).token;
    return typeof token === 'string' ? token : '';
  } catch {
    return '';
  }
}

function parseRecord(text: string, path: string): LeaseRecord {
  let raw: Partial<Record<keyof FileRecord, unknown>>;
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    throw new OxiaError('InvalidArgument', `coordinator lease record ${path} is not JSON`);
  }
  const holder = raw.holderIdentity;
  const durationMs = raw.leaseDurationMs;
  const transitions = raw.leaseTransitions;
  const acquired = typeof raw.acquireTime === 'string' ? Date.parse(raw.acquireTime) : NaN;
  const renewed = typeof raw.renewTime === 'string' ? Date.parse(raw.renewTime) : NaN;
  if (
    typeof holder !== 'string' ||
    typeof durationMs !== 'number' ||
    !Number.isSafeInteger(durationMs) ||
    durationMs <= 0 ||
    typeof transitions !== 'number' ||
    !Number.isSafeInteger(transitions) ||
    transitions < 0 ||
    Number.isNaN(acquired) ||
    Number.isNaN(renewed)
  ) {
    throw new OxiaError('InvalidArgument', `coordinator lease record ${path} lacks a field or has a wrong one`);
  }
  return { holder, durationMs, acquiredAtMs: acquired, renewedAtMs: renewed, transitions };
}
