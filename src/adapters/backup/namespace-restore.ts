import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordFileError, readRecordFile } from '../../domain/backup/record-file.js';
import type { BackupRecord } from '../../domain/wire/backup.js';
import { putRestoredRecord, type OxiaClient } from '../client/oxia-client.js';
import { BackupManifest, MANIFEST_FILE } from './backup-manifest.js';

/** A backup that is damaged or not a backup: nothing was written. */
export class DamagedBackupError extends Error {
  override readonly name = 'DamagedBackupError';
}

/** A restore refused before anything was written (the namespace holds records). */
export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError';
}

/** A backup whose manifest and files were checked whole: every file has the size, SHA-256 and record count the manifest says. */
export interface VerifiedBackup {
  readonly dir: string;
  readonly manifest: BackupManifest;
}

/** Puts in flight at once: enough for the client to fill its batches on every shard. */
const PUTS_IN_FLIGHT = 512;

/**
 * Reads the manifest and checks every shard file against it (size, SHA-256, then every record
 * decoded and counted). Any difference is a DamagedBackupError naming the file; a restore
 * checks all this before it writes anything.
 */
export async function verifyBackup(dir: string): Promise<VerifiedBackup> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new DamagedBackupError(`${manifestPath}: cannot read it (${(e as Error).message}); an unfinished backup has none`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DamagedBackupError(`${manifestPath}: not JSON (${(e as Error).message})`);
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new DamagedBackupError(`${manifestPath}: not a backup manifest of this version: ${problems.join('; ')}`);
  }
  const manifest = parsed.data;
  const total = manifest.shards.reduce((n, s) => n + s.records, 0);
  if (total !== manifest.records) throw new DamagedBackupError(`${manifestPath}: says ${manifest.records} records, its shards add up to ${total}`);
  for (const shard of manifest.shards) {
    const path = join(dir, shard.file);
    const bytes = await readShardFile(path);
    if (bytes.length !== shard.bytes) throw new DamagedBackupError(`${path}: ${bytes.length} bytes, the manifest says ${shard.bytes}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== shard.sha256) throw new DamagedBackupError(`${path}: checksum mismatch (SHA-256 ${sha256}, the manifest says ${shard.sha256})`);
    let records = 0;
    for (const _ of decoded(path, bytes)) records++;
    if (records !== shard.records) throw new DamagedBackupError(`${path}: ${records} records, the manifest says ${shard.records}`);
  }
  return { dir, manifest };
}

export interface RestoreSummary {
  readonly records: number;
}

/**
 * Writes a verified backup's records into the client's namespace, through the ordinary write
 * path: each record put with its value, partition key and secondary indexes, routed by the
 * target's own shards (whatever their number). The namespace must hold no record (internal
 * keys aside); it is checked before the first put. Records get new version ids; ephemeral
 * records of a backup made with them become persistent ones (their sessions are not restored).
 */
export async function restoreNamespace(client: OxiaClient, backup: VerifiedBackup, progress?: (line: string) => void): Promise<RestoreSummary> {
  const present = await client.list('', '');
  if (present.length > 0) {
    throw new RestoreRefusedError(`the namespace holds ${present.length} records (first: "${present[0]}"): a backup is restored into an empty namespace only`);
  }
  let written = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for (const shard of backup.manifest.shards) {
    const path = join(backup.dir, shard.file);
    const bytes = await readShardFile(path);
    // Checked again: the file must still be the one verifyBackup read.
    if (createHash('sha256').update(bytes).digest('hex') !== shard.sha256) throw new DamagedBackupError(`${path}: changed since it was verified`);
    for (const record of decoded(path, bytes)) {
      if (failure !== undefined) break;
      const put = putRestoredRecord(client, record).then(
        () => {
          written++;
        },
        (e: unknown) => {
          failure ??= e;
        },
      );
      const tracked = put.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= PUTS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) break;
    progress?.(`shard ${shard.shard} of the backup: ${shard.records} records written`);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return { records: written };
}

async function readShardFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new DamagedBackupError(`${path}: cannot read it (${(e as Error).message})`);
  }
}

function* decoded(path: string, bytes: Uint8Array): Generator<BackupRecord> {
  try {
    yield* readRecordFile(bytes);
  } catch (e) {
    if (e instanceof RecordFileError) throw new DamagedBackupError(`${path}: ${e.message}`);
    throw e;
  }
}
