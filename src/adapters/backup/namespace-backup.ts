import { createHash } from 'node:crypto';
import { access, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { frameRecord } from '../../domain/backup/record-file.js';
import type { ShardAssignment } from '../../domain/wire/client.js';
import type { Authentication } from '../client/auth.js';
import { GrpcTransport } from '../client/grpc/grpc-transport.js';
import { isRetryable } from '../client/internal/rpc-error.js';
import type { ClientTlsOptions } from '../client/options.js';
import { BACKUP_FORMAT, MANIFEST_FILE, VERSIONS_NOTE, shardFileName, type BackupManifest, type ShardManifestEntry } from './backup-manifest.js';

export interface BackupOptions {
  /** Any server of the cluster, or the standalone server: "host:port" of its public port. */
  readonly serviceAddress: string;
  readonly namespace: string;
  readonly outDir: string;
  readonly includeEphemeral?: boolean;
  /** How long to wait for the shard assignments, and for each shard's copy to start. */
  readonly requestTimeoutMs: number;
  readonly authentication?: Authentication | undefined;
  readonly tls?: ClientTlsOptions | undefined;
  /** Progress lines for the operator. */
  readonly progress?: (line: string) => void;
}

/** A backup that could not be made: the directory holds no manifest, so it is not a backup. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/** Attempts per shard when its leader moves or is briefly unreachable during the copy. */
const ATTEMPTS_MAX = 8;
const RETRY_DELAY_MS = 250;

/**
 * `oxia-ts backup` (ADR 0030): every shard of the namespace copied from its leader through
 * oxiats.backup.v1 ReadShard, each as of one committed offset while writes go on, into
 * `<outDir>/shard-<id>.records`, then `manifest.json` (written last: a directory without it is
 * an unfinished backup). Shards are copied one after another; their offsets are independent.
 */
export async function backupNamespace(options: BackupOptions): Promise<BackupManifest> {
  const transport = new GrpcTransport(options.authentication, options.tls);
  try {
    await mkdir(options.outDir, { recursive: true });
    const manifestPath = join(options.outDir, MANIFEST_FILE);
    if (await exists(manifestPath)) throw new BackupError(`${manifestPath} exists: a backup is not written over another one`);
    const initial = await assignmentsOf(transport, options);
    const shards: ShardManifestEntry[] = [];
    for (const assignment of initial) {
      const entry = await copyShardWithRetries(transport, options, assignment);
      options.progress?.(`shard ${entry.shard}: ${entry.records} records at offset ${entry.commitOffset} from ${entry.leader}`);
      shards.push(entry);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      source: options.serviceAddress,
      namespace: options.namespace,
      includesEphemeral: options.includeEphemeral === true,
      versions: VERSIONS_NOTE,
      records: shards.reduce((n, s) => n + s.records, 0),
      shards,
    };
    await writeFile(`${manifestPath}.partial`, JSON.stringify(manifest, null, 2) + '\n');
    await rename(`${manifestPath}.partial`, manifestPath);
    return manifest;
  } finally {
    transport.close();
  }
}

async function copyShardWithRetries(transport: GrpcTransport, options: BackupOptions, first: ShardAssignment): Promise<ShardManifestEntry> {
  let assignment = first;
  for (let attempt = 1; ; attempt++) {
    try {
      return await copyShard(transport, options, assignment);
    } catch (error) {
      if (!isRetryable(error) || attempt >= ATTEMPTS_MAX) {
        throw new BackupError(`shard ${assignment.shard}: ${error instanceof Error ? error.message : String(error)}`);
      }
      options.progress?.(`shard ${assignment.shard}: ${error instanceof Error ? error.message : String(error)}; trying again`);
      await sleep(RETRY_DELAY_MS * attempt);
      // The leader may have moved: ask again where the shard is.
      const now = (await assignmentsOf(transport, options)).find((a) => a.shard === assignment.shard);
      if (now === undefined) throw new BackupError(`shard ${assignment.shard} is no longer in namespace "${options.namespace}" (split or removed during the backup)`);
      assignment = now;
    }
  }
}

/** One shard into its file: records framed as they arrive, hashed on the way. */
async function copyShard(transport: GrpcTransport, options: BackupOptions, assignment: ShardAssignment): Promise<ShardManifestEntry> {
  const range = assignment.shardBoundaries?.value;
  if (range === undefined) throw new BackupError(`shard ${assignment.shard} has no hash range in the assignments`);
  const file = shardFileName(assignment.shard);
  const path = join(options.outDir, file);
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  const hash = createHash('sha256');
  const stop = new AbortController();
  let bytes = 0;
  let records = 0;
  try {
    let end: { commitOffset: bigint; records: bigint; ephemeralSkipped: bigint } | undefined;
    const stream = transport.copyShard(
      assignment.leader,
      { namespace: options.namespace, shard: assignment.shard, includeEphemeral: options.includeEphemeral === true },
      stop.signal,
    );
    for await (const message of stream) {
      if (end !== undefined) throw new BackupError(`shard ${assignment.shard}: the server sent records after the end of the copy`);
      const framed = message.records.map(frameRecord);
      const chunk = Buffer.concat(framed);
      if (chunk.length > 0) {
        hash.update(chunk);
        await handle.write(chunk);
      }
      bytes += chunk.length;
      records += message.records.length;
      if (message.end !== undefined) end = message.end;
    }
    if (end === undefined) throw new BackupError(`shard ${assignment.shard}: the copy ended without its last message`);
    if (end.records !== BigInt(records)) throw new BackupError(`shard ${assignment.shard}: the server counted ${end.records} records, ${records} arrived`);
    await handle.sync();
    await handle.close();
    await rename(partial, path);
    return {
      shard: assignment.shard.toString(),
      hashRange: { minHashInclusive: range.minHashInclusive, maxHashInclusive: range.maxHashInclusive },
      leader: assignment.leader,
      commitOffset: end.commitOffset.toString(),
      records,
      ephemeralSkipped: Number(end.ephemeralSkipped),
      file,
      bytes,
      sha256: hash.digest('hex'),
    };
  } catch (error) {
    stop.abort();
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}

/** The namespace's shards as the server sees them now (the first message of the assignments stream). */
async function assignmentsOf(transport: GrpcTransport, options: BackupOptions): Promise<ShardAssignment[]> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new BackupError(`no shard assignments from ${options.serviceAddress} within ${options.requestTimeoutMs} ms`)), options.requestTimeoutMs);
  try {
    for await (const message of transport.shardAssignments(options.serviceAddress, { namespace: options.namespace }, stop.signal)) {
      const assignment = message.namespaces[options.namespace];
      if (assignment === undefined) throw new BackupError(`namespace "${options.namespace}" does not exist`);
      if (assignment.assignments.some((a) => a.leader === '')) continue; // a shard without leader yet: wait for the next
      return [...assignment.assignments].sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
    }
    throw new BackupError(`the shard assignments stream from ${options.serviceAddress} ended`);
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
