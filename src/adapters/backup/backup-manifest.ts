import { z } from 'zod';

/** The file naming everything else in a backup directory. */
export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'oxia-ts-backup/v1';

/** What the manifest says about versions, so that nobody reading a backup expects them back. */
export const VERSIONS_NOTE =
  'versionId, modificationsCount and the timestamps of each record are those it had in the source; ' +
  'a restore writes every record anew, so restored records get new version ids (and timestamps, modifications count 0)';

const DECIMAL = /^-?\d+$/;

const ShardEntry = z.object({
  shard: z.string().regex(DECIMAL, 'a shard id in decimal'),
  /** The shard's hash range in the source (both bounds inclusive): for the record, a restore re-routes by hash. */
  hashRange: z.object({ minHashInclusive: z.number().int(), maxHashInclusive: z.number().int() }),
  leader: z.string(),
  /** The offset of the last log entry the copy includes: every write acknowledged up to it is in the file. */
  commitOffset: z.string().regex(DECIMAL, 'an offset in decimal'),
  records: z.number().int().nonnegative(),
  ephemeralSkipped: z.number().int().nonnegative(),
  file: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the backup directory'),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex'),
});

export const BackupManifest = z.object({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.string(),
  source: z.string(),
  namespace: z.string(),
  includesEphemeral: z.boolean(),
  versions: z.string(),
  records: z.number().int().nonnegative(),
  shards: z.array(ShardEntry),
});
export type BackupManifest = z.infer<typeof BackupManifest>;
export type ShardManifestEntry = z.infer<typeof ShardEntry>;

/** The file name of a shard's records in a backup directory. */
export function shardFileName(shard: bigint): string {
  return `shard-${shard}.records`;
}
