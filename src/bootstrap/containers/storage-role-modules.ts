/**
 * What the containers of the two storage roles (`standalone`, `server`) load alike, from the
 * settings they share: logging tagged with the role, the metrics endpoint (with the disks'
 * free space), the clock, the key-value stores behind the read cache, the write-ahead log and the public gRPC server.
 * Each role's container adds the node that serves ClientApi (and whatever else it needs).
 */
import { ContainerModule } from 'inversify';
import type { DestinationStream } from 'pino';
import type { GrpcServerOptions, HostPort } from '../../adapters/grpc/grpc-server.js';
import type { ServerTlsSettings } from '../../adapters/tls/tls-settings.js';
import type { MetricsTlsSettings } from '../config/tls-options.js';
import type { StorageSettings } from '../config/storage-options.js';
import { LiveStorageSettings } from '../config/live-storage-settings.js';
import { Metrics } from '../../application/ports/metrics.js';
import type { ReplicaIntegritySettings } from '../../application/shard/replica-controller.js';
import { DiskSpaceMetrics } from '../../adapters/metrics/disk-space-metrics.js';
import { securityModule, type SecuritySettings } from '../modules/security-module.js';
import { clockModule } from '../modules/clock-module.js';
import { grpcModule } from '../modules/grpc-module.js';
import { kvModule } from '../modules/kv-module.js';
import { loggingModule } from '../modules/logging-module.js';
import { metricsModule } from '../modules/metrics-module.js';
import { walModule } from '../modules/wal-module.js';
import { DiskProbe, DiskProbeOptions } from '../../adapters/files/disk-probe.js';
import { DiskSpaceReadings } from '../../adapters/files/disk-space.js';
import { StorageProbe } from '../../application/ports/storage-probe.js';
import { ShardTombstones } from '../../application/ports/shard-tombstones.js';
import { FileShardTombstones } from '../../adapters/files/shard-tombstone-file.js';

export interface ContainerOverrides {
  /** Log lines go here instead of stdout (in-process tests). */
  readonly logDestination?: DestinationStream;
}

/** A storage role's config as far as these modules need it. */
export interface StorageRoleSettings extends StorageSettings, SecuritySettings {
  readonly publicAddr: HostPort;
  readonly metricsAddr: HostPort;
  readonly publicTls: ServerTlsSettings | undefined;
  readonly metricsTls: MetricsTlsSettings | undefined;
  /** A server's integrity checks across replicas (ADR 0031); a standalone node has no replicas. */
  readonly integrity?: ReplicaIntegritySettings;
}

/** Every gRPC listener of a storage node takes the same request limit and shutdown bound. */
export function grpcServerOptionsOf(name: string, bind: HostPort, tls: ServerTlsSettings | undefined, settings: StorageSettings): GrpcServerOptions {
  return { name, bind, tls, receiveMessageSizeBytesMax: settings.limits.requestSizeBytesMax, shutdownTimeoutMs: settings.shutdownTimeoutMs };
}

export function storageRoleModules(role: string, settings: StorageRoleSettings, overrides: ContainerOverrides): ContainerModule[] {
  return [
    loggingModule({
      level: settings.logLevel,
      base: { role },
      ...(overrides.logDestination ? { destination: overrides.logDestination } : {}),
    }),
    metricsModule({ bind: settings.metricsAddr, tls: settings.metricsTls }),
    // The listening sockets keep the process alive; housekeeping timers need not.
    clockModule({ unrefTimers: true }),
    kvModule(settings.kv, { dataDir: settings.dataDir }, settings.dbCacheSizeBytes, settings.kvCommitIntervalMs),
    walModule({ dir: settings.walDir, syncData: settings.walSyncData, segmentSizeBytes: settings.walSegmentSizeBytes }),
    grpcModule(grpcServerOptionsOf('public', settings.publicAddr, settings.publicTls, settings)),
    securityModule(settings),
    new ContainerModule(({ bind }) => {
      bind(DiskProbeOptions).toConstantValue({ dirs: [settings.dataDir, settings.walDir], minFreeBytes: settings.minFreeDiskBytes });
      // One reader of the directories' space: the free-space watch reads, the metrics export its readings.
      bind(DiskSpaceReadings).toSelf().inSingletonScope();
      bind(StorageProbe).to(DiskProbe).inSingletonScope();
      // Read when the node is built: a damaged file stops the start, naming itself.
      bind(ShardTombstones).toDynamicValue(() => new FileShardTombstones(settings.dataDir)).inSingletonScope();
      bind(LiveStorageSettings).toConstantValue(new LiveStorageSettings(settings, settings.retentionCheckIntervalMs, settings.integrity));
      bind(DiskSpaceMetrics)
        .toDynamicValue((ctx) => new DiskSpaceMetrics(ctx.get(Metrics), { data: settings.dataDir, wal: settings.walDir }, ctx.get(DiskSpaceReadings)))
        .inSingletonScope();
    }),
  ];
}
