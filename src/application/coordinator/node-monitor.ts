import { nodeId, type NodeAddress } from '../../domain/cluster/node-address.js';
import { backoffDelayMs } from '../../domain/coordinator/backoff.js';
import {
  INITIAL_NODE_HEALTH,
  nodeSilent,
  observeHealth,
  type HealthDecision,
  type HealthObservation,
  type HealthSource,
  type NodeHealth,
  type NodeRunState,
} from '../../domain/coordinator/node-health.js';
import type { ShardAssignments } from '../../domain/wire/client.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { AssignmentsStream, HealthWatch, StorageNodeClient } from '../ports/storage-node-client.js';
import type { CoordinatorSettings } from './coordinator-settings.js';
import { pause } from '../pause.js';

/**
 * How long one periodic probe may stay outstanding. The health-check timeout decides about the
 * node (nodeSilent); this only bounds the calls kept open, long enough that slow answers are
 * still measured (oxia_coordinator_node_health_check_wait_seconds: how close a node came).
 */
const PROBE_DEADLINE_MS = 5_000;

/** Probes after a broken watch when the answers are inconclusive, and the gap between them. */
const BROKEN_WATCH_PROBES = 3;
const BROKEN_WATCH_PROBE_GAP_MS = 100;

export interface NodeEvents {
  onAvailable(node: NodeAddress): void;
  /** `reason`: what the health checks saw (DownReason: not-serving, unreachable, failures, silent). */
  onUnavailable(node: NodeAddress, reason: string): void;
  /**
   * A health watch of the node was opened again and answered. The node may have restarted
   * meanwhile without ever being declared down (it came back within the failure threshold,
   * while its watch was broken): what it leads must be checked, its shards' state went with it.
   */
  onReconnected(node: NodeAddress): void;
}

/** The newest ShardAssignments, numbered so that each stream sends every version at most once. */
export interface PublishedAssignments {
  readonly version: number;
  readonly message: ShardAssignments;
}

export interface NodeMonitorDeps {
  readonly client: StorageNodeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly settings: CoordinatorSettings;
  readonly random: () => number;
  readonly events: NodeEvents;
  readonly assignments: () => PublishedAssignments | undefined;
}

/**
 * Everything the coordinator does with one storage node apart from shard RPCs, as Oxia's data
 * server controller:
 *
 * - health: a grpc.health.v1 Watch stream and a periodic Check, fed to the decisions of
 *   domain/coordinator/node-health.ts; the node's transitions are reported to `events`;
 * - assignments: a PushShardAssignments stream that carries every new ShardAssignments to
 *   the node, reopened whenever it ends (node restarts) and at once when the node is back.
 */
export class NodeMonitor {
  private health: NodeHealth = INITIAL_NODE_HEALTH;
  /** When the node last became Running (monotonic ms), and whether it was ever declared down. */
  private runningSinceMs = 0;
  /** Wall-clock time (ms) when the node last became Running, for people (the console). */
  private upSinceWallMs: number | undefined;
  private everDown = false;
  private readonly stop = new AbortController();
  private readonly log: Logger;
  private readonly label: Record<string, string>;
  private watch: HealthWatch | undefined;
  private stream: AssignmentsStream | undefined;
  private sentVersion = -1;
  /** Send times of the periodic probes still outstanding, oldest first. */
  private readonly outstanding: number[] = [];
  /** Wakes the assignments stream's reconnect pause when the node comes back. */
  private readonly streamWakers = new Set<() => void>();
  private readonly running: { set(labels: Record<string, string>, value: number): void };
  private readonly failedChecks: { inc(labels?: Record<string, string>, by?: number): void };
  private readonly waits: { observe(labels: Record<string, string>, value: number): void };
  private readonly downs: { inc(labels?: Record<string, string>, by?: number): void };

  constructor(
    readonly node: NodeAddress,
    private readonly deps: NodeMonitorDeps,
  ) {
    this.log = deps.log.child({ component: 'node-monitor', node: nodeId(node) });
    this.label = { node: nodeId(node) };
    this.running = deps.metrics.gauge('oxia_coordinator_node_running', 'Whether the coordinator considers the storage node running', ['node']);
    this.failedChecks = deps.metrics.counter('oxia_coordinator_node_health_checks_failed_total', 'Failed health checks of a storage node', ['node']);
    this.waits = deps.metrics.histogram(
      'oxia_coordinator_node_health_check_wait_seconds',
      'At each health check a running storage node answered, how long the oldest check sent since its previous answer had waited (the node is down once one waits --health-check-timeout)',
      ['node'],
    );
    this.downs = deps.metrics.counter('oxia_coordinator_node_unavailable_total', 'Times a storage node was declared down, by reason', ['node', 'reason']);
  }

  start(): void {
    this.running.set(this.label, 0);
    void this.probeLoop();
    void this.watchLoop();
    void this.assignmentsLoop();
  }

  state(): NodeRunState {
    return this.health.state;
  }

  /** When (wall clock, ms) the node last became Running; undefined while it is not running. */
  upSince(): number | undefined {
    return this.health.state === 'Running' ? this.upSinceWallMs : undefined;
  }

  /**
   * Running, and either never declared down or running again for at least `windowMs`: only such
   * nodes are given leaders back by the balancer.
   */
  stablyRunning(windowMs: number): boolean {
    if (this.health.state !== 'Running') return false;
    return !this.everDown || this.deps.clock.monotonicMs() - this.runningSinceMs >= windowMs;
  }

  /** A new ShardAssignments was published: send it now if the stream is open. */
  assignmentsChanged(): void {
    this.sendLatest();
  }

  close(): void {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.watch?.cancel();
    this.stream?.close();
    this.running.set(this.label, 0);
  }

  private observe(epoch: number, observation: HealthObservation, source: HealthSource, sentMs: number): void {
    if (this.stop.signal.aborted) return;
    if (observation !== 'serving' && observation !== 'not-serving') this.failedChecks.inc(this.label);
    const decision = observeHealth(this.health, epoch, observation, source, this.deps.settings.healthCheckFailureThreshold, sentMs);
    if ((observation === 'unreachable' || observation === 'failed') && decision.health.state === 'Running' && decision.health.failures > 0) {
      this.log.warn('health check failed; tolerated below the failure threshold', { observation, failures: decision.health.failures });
    }
    this.apply(decision, { observation, source });
  }

  private apply(decision: HealthDecision, fields: Record<string, unknown>): void {
    this.health = decision.health;
    if (decision.event === 'available') {
      this.runningSinceMs = this.deps.clock.monotonicMs();
      this.upSinceWallMs = this.deps.clock.nowMs();
      this.log.info('storage node is running');
      this.running.set(this.label, 1);
      for (const wake of [...this.streamWakers]) wake();
      this.deps.events.onAvailable(this.node);
    } else if (decision.event === 'unavailable') {
      this.everDown = true;
      this.log.warn('storage node is down', { ...fields, reason: decision.reason });
      this.running.set(this.label, 0);
      this.downs.inc({ ...this.label, reason: decision.reason ?? 'unknown' });
      this.deps.events.onUnavailable(this.node, decision.reason ?? 'unknown');
    }
  }

  /**
   * A Check every interval, the first one at once, without waiting for the earlier ones: a
   * slow node is still probed on schedule, and its newest answer is what counts. After each
   * interval, silence is judged (nodeSilent).
   */
  private async probeLoop(): Promise<void> {
    const { clock, settings } = this.deps;
    const signal = this.stop.signal;
    while (!signal.aborted) {
      this.probe();
      await pause(clock, settings.healthCheckIntervalMs, signal);
      if (signal.aborted) return;
      // That timer ran before this turn of the event loop read its sockets. If the coordinator
      // itself was held up (CPU starved), answers that arrived meanwhile are still unread: one
      // more turn reads them before the node is judged.
      await pause(clock, 0, signal);
      if (signal.aborted) return;
      const oldest = this.outstanding.find((sentMs) => sentMs > this.health.answeredSentMs);
      const decision = nodeSilent(this.health, clock.monotonicMs(), oldest, settings.healthCheckTimeoutMs);
      if (decision.event) this.apply(decision, { silentForMs: Math.round(clock.monotonicMs() - this.health.answeredSentMs) });
    }
  }

  private probe(): void {
    const { clock, settings, client } = this.deps;
    const sentMs = clock.monotonicMs();
    const epoch = this.health.epoch;
    this.outstanding.push(sentMs);
    void client.checkHealth(this.node, Math.max(PROBE_DEADLINE_MS, settings.healthCheckTimeoutMs), this.stop.signal).then((observation) => {
      if (this.stop.signal.aborted) return;
      if (observation === 'serving' && epoch === this.health.epoch) this.recordWait(sentMs);
      const i = this.outstanding.indexOf(sentMs);
      if (i >= 0) this.outstanding.splice(i, 1);
      this.observe(epoch, observation, 'periodic', sentMs);
    });
  }

  /**
   * A running node answered the probe sent at `sentMs`: records what the timeout is compared
   * with, how long the oldest probe sent since its previous answer had waited.
   */
  private recordWait(sentMs: number): void {
    if (this.health.state !== 'Running' || sentMs <= this.health.answeredSentMs) return;
    const { clock, settings } = this.deps;
    const oldest = this.outstanding.find((s) => s > this.health.answeredSentMs) ?? sentMs;
    const waitedMs = clock.monotonicMs() - oldest;
    this.waits.observe(this.label, waitedMs / 1000);
    if (waitedMs >= settings.healthCheckTimeoutMs / 2) {
      this.log.warn('storage node answered a health check late; it is down once one waits the timeout', { waitedMs: Math.round(waitedMs), timeoutMs: settings.healthCheckTimeoutMs });
    }
  }

  /** The Watch stream; when it breaks, one immediate Check tells a dead node from a reset stream. */
  private async watchLoop(): Promise<void> {
    const { clock, settings, client, random } = this.deps;
    const signal = this.stop.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let onAbort = (): void => undefined;
      const ended = new Promise<boolean>((resolve) => {
        let received = false;
        this.watch = client.watchHealth(this.node, {
          onStatus: (observation) => {
            const first = !received;
            received = true;
            this.observe(this.health.epoch, observation, 'watch', clock.monotonicMs());
            if (first && !signal.aborted) {
              this.log.debug('health watch answering', { observation });
              this.deps.events.onReconnected(this.node);
            }
          },
          onEnd: () => resolve(received),
        });
        onAbort = () => resolve(false);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      const received = await ended;
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return;
      if (received) attempt = 0;
      await this.probeAfterBrokenWatch(signal);
      if (signal.aborted) return;
      await pause(clock, backoffDelayMs(settings.streamRetry, attempt++, random()), signal);
    }
  }

  /**
   * The probe that tells a dead node from a reset stream. A probe can ride the very connection
   * being torn down and fail inconclusively; a few quick retries let the channel notice that the
   * connection is gone, so that a crashed node shows as unreachable now, not after the
   * periodic probes' threshold.
   */
  private async probeAfterBrokenWatch(signal: AbortSignal): Promise<void> {
    const { clock, settings, client } = this.deps;
    for (let i = 0; i < BROKEN_WATCH_PROBES; i++) {
      const epoch = this.health.epoch;
      const sentMs = clock.monotonicMs();
      const observation = await client.checkHealth(this.node, settings.healthCheckTimeoutMs, signal);
      if (signal.aborted) return;
      this.observe(epoch, observation, 'watch-broken', sentMs);
      if (observation !== 'failed') return;
      await pause(clock, Math.min(BROKEN_WATCH_PROBE_GAP_MS, settings.healthCheckIntervalMs), signal);
    }
  }

  private async assignmentsLoop(): Promise<void> {
    const { clock, settings, client, random } = this.deps;
    const signal = this.stop.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let onAbort = (): void => undefined;
      const openedAt = clock.monotonicMs();
      const ended = new Promise<Error | undefined>((resolve) => {
        this.sentVersion = -1;
        this.stream = client.pushAssignments(this.node, (error) => resolve(error));
        onAbort = () => resolve(undefined);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      this.sendLatest();
      const error = await ended;
      signal.removeEventListener('abort', onAbort);
      this.stream = undefined;
      if (signal.aborted) return;
      // A stream that stayed up a while was healthy: start the backoff over.
      if (clock.monotonicMs() - openedAt >= settings.healthCheckIntervalMs) attempt = 0;
      this.log.debug('assignments stream ended; reopening', { error: error?.message });
      await pause(clock, backoffDelayMs(settings.streamRetry, attempt++, random()), signal, this.streamWakers);
    }
  }

  private sendLatest(): void {
    const latest = this.deps.assignments();
    if (!latest || !this.stream || latest.version <= this.sentVersion) return;
    if (this.stream.send(latest.message)) this.sentVersion = latest.version;
  }
}
