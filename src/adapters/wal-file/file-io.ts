// Small file primitives the WAL needs with exact semantics: whole reads and writes
// (the OS may transfer fewer bytes than asked) and durable directory entries.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Opens a segment file for reading and appending. With `durableWrites`, where the platform
 * has O_DSYNC, every write returns only once its data (and the file size) is on the device:
 * one thread-pool call per round instead of a write and then an fdatasync, with the same
 * guarantee. `durable` says whether that held; otherwise the caller must fdatasync.
 */
export async function openSegmentFile(
  path: string,
  create: boolean,
  durableWrites: boolean,
): Promise<{ readonly fh: FileHandle; readonly durable: boolean }> {
  const dsync = durableWrites ? (constants.O_DSYNC as number | undefined) : undefined;
  const flags = constants.O_RDWR | (create ? constants.O_CREAT | constants.O_TRUNC : 0) | (dsync ?? 0);
  return { fh: await open(path, flags, 0o666), durable: dsync !== undefined };
}

/**
 * Makes creations, renames and removals of entries in `dir` durable. Without it a
 * fresh segment file can vanish after a power loss even though its data was synced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reads exactly `length` bytes at `position`; fails if the file ends first. */
export async function readFully(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`file ends at ${position + done}, expected ${length} bytes from ${position}`);
    done += bytesRead;
  }
  return buf;
}

/** Writes all of `buffers` contiguously from `position` (one writev in the usual case). */
export async function writeFully(fh: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  let pos = position;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending, pos);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes at ${pos}`);
    pos += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}
