import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import type { ClusterStatusStore, VersionedClusterStatus } from '../../application/ports/cluster-status-store.js';
import { Logger } from '../../application/ports/logger.js';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';
import { decodeStoredClusterStatus, encodeStoredClusterStatus, INT64_MAX } from '../../domain/cluster/cluster-status-codec.js';
import { StatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { ProcessLock } from '../files/process-lock.js';

export interface FileStatusStoreOptions {
  /** The status file (`--file-clusters-status-path`, Oxia's default data/cluster-status.json). */
  readonly path: string;
  /** How long a write waits for another process's write to finish (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** fsync the file and its directory (default true). Only tests that do not care about power loss turn it off. */
  readonly syncData?: boolean;
  /** A bigger file is refused as corrupt rather than read into memory (default 64 MiB). */
  readonly sizeBytesMax?: number;
}
export const FileStatusStoreOptions: ServiceIdentifier<FileStatusStoreOptions> = Symbol.for('oxia.FileStatusStoreOptions');

const MiB = 1024 * 1024;
/** The version of the first status ever written (Oxia: "not exists" is -1, the next is 0). */
const FIRST_VERSION = '0';

/**
 * The cluster status in one JSON file, `{"clusterStatus":{...},"version":"N"}` (the seed's format).
 *
 * - Atomic replace: the new content goes to a temporary file in the same directory, is fsynced,
 *   renamed over the status file, and the directory is fsynced. A crash leaves either the old or
 *   the new file, never a mix; a half-written temporary file is never read, and the next write
 *   removes it.
 * - Compare-and-set: the version is stored in the file and checked on every write. The check and
 *   the replace happen under an exclusive lock (`<path>.lock`, see ProcessLock) so that two
 *   processes cannot both pass the check; the loser gets StatusVersionConflict.
 * - load() takes no lock: rename makes every read see one complete version.
 */
@injectable()
export class FileClusterStatusStore implements ClusterStatusStore {
  private readonly path: string;
  private readonly lock: ProcessLock;
  private readonly lockTimeoutMs: number;
  private readonly syncData: boolean;
  private readonly sizeBytesMax: number;
  /** Serialises this instance's writes: the lock is one per instance. */
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    @inject(FileStatusStoreOptions) options: FileStatusStoreOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.path = options.path;
    this.lock = new ProcessLock(`${options.path}.lock`);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.syncData = options.syncData ?? true;
    this.sizeBytesMax = options.sizeBytesMax ?? 64 * MiB;
  }

  async load(): Promise<VersionedClusterStatus | undefined> {
    this.assertOpen();
    return this.read();
  }

  store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    if (this.closed) return Promise.reject(this.closedError());
    const result = this.writes.then(() => this.storeLocked(status, expectedVersion));
    this.writes = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes;
    this.lock.close();
  }

  private async storeLocked(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    await this.lock.acquire(this.lockTimeoutMs);
    try {
      const current = await this.read();
      if (current?.version !== expectedVersion) {
        throw new StatusVersionConflict(expectedVersion, current ? { version: current.version } : 'absent', this.path);
      }
      const newVersion = current === undefined ? FIRST_VERSION : nextVersion(current.version);
      const text = encodeStoredClusterStatus(status, newVersion);
      await this.removeLeftoverTempFiles();
      await this.replace(text);
      this.logger.debug('stored cluster status', { path: this.path, version: newVersion });
      return newVersion;
    } finally {
      this.lock.release();
    }
  }

  private async read(): Promise<VersionedClusterStatus | undefined> {
    let text: string;
    try {
      const size = (await stat(this.path)).size;
      if (size > this.sizeBytesMax) {
        throw new OxiaError('InvalidArgument', `cluster status file ${this.path} is ${size} bytes, more than the ${this.sizeBytesMax} allowed; refusing to read it`);
      }
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    // Oxia treats an empty file as "no status yet"; so does this store.
    if (text.trim() === '') return undefined;
    try {
      return decodeStoredClusterStatus(text);
    } catch (e) {
      if (e instanceof OxiaError) {
        throw new OxiaError(e.kind, `cluster status file ${this.path} cannot be used (fix or remove it; it is never overwritten): ${e.message}`);
      }
      throw e;
    }
  }

  private tempPrefix(): string {
    return `${basename(this.path)}.tmp-`;
  }

  private async replace(text: string): Promise<void> {
    const dir = dirname(this.path);
    const temp = join(dir, `${this.tempPrefix()}${process.pid}-${randomBytes(4).toString('hex')}`);
    const file = await open(temp, 'wx', 0o600);
    try {
      try {
        await file.writeFile(text, 'utf8');
        if (this.syncData) await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    if (this.syncData) {
      // The rename itself is durable only once the directory entry is.
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    }
  }

  /** Temp files exist only while their writer holds the lock; any found under the lock are left by a crash. */
  private async removeLeftoverTempFiles(): Promise<void> {
    const prefix = this.tempPrefix();
    const dir = dirname(this.path);
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
      this.logger.warn('removing a temporary status file left by an interrupted write', { file: join(dir, name) });
      await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): OxiaError {
    return new OxiaError('Closed', `cluster status store ${this.path} is closed`);
  }
}

function nextVersion(version: StatusVersion): StatusVersion {
  const next = BigInt(version) + 1n;
  if (next > INT64_MAX) throw new OxiaError('InvalidArgument', `cluster status version ${version} cannot be incremented`);
  return next.toString();
}
