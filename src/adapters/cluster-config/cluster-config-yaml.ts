import { parseDocument } from 'yaml';
import { z } from 'zod';
import {
  clusterConfigProblems,
  DEFAULT_AUTO_SPLIT,
  DEFAULT_LOAD_BALANCER,
  type AutoSplitConfig,
  type AntiAffinity,
  type ClusterConfig,
  type ClusterConfigCheck,
  type NamespaceConfig,
} from '../../domain/cluster/cluster-config.js';
import { parseGoDurationMs } from '../../domain/cluster/go-duration.js';
import type { NodeAddress } from '../../domain/cluster/node-address.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';

/*
 * Oxia's cluster configuration YAML:
 *
 *   namespaces:
 *     - name: default
 *       initialShardCount: 3
 *       replicationFactor: 3
 *       notificationsEnabled: true      # default true
 *       keySorting: hierarchical        # or natural; default hierarchical
 *       antiAffinities: [{labels: [zone], mode: strict}]   # older Oxia: policies.antiAffinities
 *   servers:
 *     - {name: node-0, public: "node-0:6648", internal: "node-0:6649"}   # name optional
 *   serverMetadata: {node-0: {labels: {zone: a}}}
 *   loadBalancer: {scheduleInterval: 30s, quarantineTime: 5m}
 *   allowExtraAuthorities: ["proxy:6648"]
 *   autoSplit:                      # off unless enabled; each field defaults as in Oxia
 *     enabled: true
 *     maxShardSizeMb: 1024
 *     maxThroughputOps: 10000
 *     stabilizationPeriod: 1m       # "0s" allowed: split at the first sample over a threshold
 *     cooldownPeriod: 5m            # "0s" allowed
 *     maxShardsPerNamespace: 64
 *     collectionInterval: 30s
 *
 * Keys this implementation does not use (coordinators, ...) are ignored, as Oxia
 * ignores unknown keys. Every problem is reported at once, each with its path.
 */

const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

const uint: z.ZodType<number, unknown> =
  z.unknown().transform((value, ctx) => {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: `must be a non-negative integer, got ${shown(value)}` });
      return z.NEVER;
    }
    return n;
  });

/** A Go duration string ("30s"); a bare number is nanoseconds, as Go's YAML decoding of time.Duration takes it. */
const duration: z.ZodType<number, unknown> = z.unknown().transform((value, ctx) => {
  const ms = typeof value === 'string' ? parseGoDurationMs(value.trim()) : typeof value === 'number' && value >= 0 ? value / 1e6 : undefined;
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 500ms, 30s or 5m, got ${shown(value)}` });
    return z.NEVER;
  }
  return ms;
});

const text = z.string({ error: (issue) => `must be a string, got ${issue.input === undefined ? 'nothing' : shown(issue.input)}` });
const requiredText = text.trim().min(1, { error: 'must not be empty' });

const antiAffinity = z.object({
  labels: z.array(text).default([]),
  mode: z
    .string()
    .transform((m) => m.toLowerCase())
    .pipe(z.enum(['strict', 'relaxed'], { error: (i) => `must be strict or relaxed, got ${shown(i.input)}` })),
});

const namespace = z.object({
  name: requiredText,
  initialShardCount: uint,
  replicationFactor: uint,
  notificationsEnabled: z.boolean({ error: (i) => `must be true or false, got ${shown(i.input)}` }).nullish(),
  keySorting: z
    .string()
    .nullish()
    .transform((k) => (k ?? '').toLowerCase())
    .pipe(z.enum(['', 'unknown', 'hierarchical', 'natural'], { error: (i) => `must be hierarchical or natural, got ${shown(i.input)}` })),
  antiAffinities: z.array(antiAffinity).nullish(),
  policies: z.object({ antiAffinities: z.array(antiAffinity).nullish() }).nullish(),
});

const server = z.object({
  name: z.string().nullish(),
  public: requiredText,
  internal: requiredText,
});

const schema = z.object({
  namespaces: z.array(namespace).nullish(),
  servers: z.array(server).nullish(),
  allowExtraAuthorities: z.array(text).nullish(),
  serverMetadata: z.record(z.string(), z.object({ labels: z.record(z.string(), z.string()).nullish() }).nullish()).nullish(),
  loadBalancer: z.object({ scheduleInterval: duration.optional(), quarantineTime: duration.optional() }).nullish(),
  autoSplit: z
    .object({
      enabled: z.boolean({ error: (i) => `must be true or false, got ${shown(i.input)}` }).nullish(),
      maxShardSizeMb: uint.optional(),
      maxThroughputOps: uint.optional(),
      stabilizationPeriod: duration.optional(),
      cooldownPeriod: duration.optional(),
      maxShardsPerNamespace: uint.optional(),
      collectionInterval: duration.optional(),
    })
    .nullish(),
});

/**
 * Oxia's defaults: a zero or missing number, and a missing duration, take the default; an
 * explicit zero stabilization or cooldown period stays zero; a zero collection interval
 * takes the default (a ticker needs a positive period).
 */
function toAutoSplit(a: z.output<typeof schema>['autoSplit']): AutoSplitConfig {
  const d = DEFAULT_AUTO_SPLIT;
  return {
    enabled: a?.enabled ?? d.enabled,
    maxShardSizeMb: a?.maxShardSizeMb || d.maxShardSizeMb,
    maxThroughputOps: a?.maxThroughputOps || d.maxThroughputOps,
    stabilizationPeriodMs: a?.stabilizationPeriod ?? d.stabilizationPeriodMs,
    cooldownPeriodMs: a?.cooldownPeriod ?? d.cooldownPeriodMs,
    maxShardsPerNamespace: a?.maxShardsPerNamespace || d.maxShardsPerNamespace,
    collectionIntervalMs: a?.collectionInterval || d.collectionIntervalMs,
  };
}

function toNamespace(ns: z.output<typeof namespace>): NamespaceConfig {
  const rules = [...(ns.antiAffinities ?? []), ...(ns.policies?.antiAffinities ?? [])];
  return {
    name: ns.name,
    initialShardCount: ns.initialShardCount,
    replicationFactor: ns.replicationFactor,
    notificationsEnabled: ns.notificationsEnabled ?? true,
    keySorting: ns.keySorting === 'natural' ? 'natural' : 'hierarchical',
    antiAffinities: rules.map((a): AntiAffinity => ({ labels: a.labels, mode: a.mode })),
  };
}

function toServer(s: z.output<typeof server>): NodeAddress {
  const name = s.name?.trim();
  return name ? { name, public: s.public, internal: s.internal } : { public: s.public, internal: s.internal };
}

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`), '');

/**
 * Parses and validates a cluster config. `source` names where it came from (a path, a
 * ConfigMap) in error messages. Throws OxiaError('InvalidArgument') listing every problem.
 */
export function parseClusterConfigYaml(yamlText: string, source: string, check: ClusterConfigCheck): ClusterConfig {
  const fail = (problems: readonly string[]): never => {
    throw new OxiaError('InvalidArgument', `invalid cluster config in ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  };
  const doc = parseDocument(yamlText, { uniqueKeys: true });
  // The first line of a pretty YAML error is the message with its line and column.
  if (doc.errors.length > 0) fail(doc.errors.map((e) => `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`));
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) fail(['the document is empty']);
  if (typeof raw !== 'object' || Array.isArray(raw)) fail([`expected a mapping at the top level, got ${Array.isArray(raw) ? 'a list' : shown(raw)}`]);

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    fail(parsed.error.issues.map((i) => (i.path.length === 0 ? i.message : `${pathOf(i.path)}: ${i.message}`)));
    throw new Error('unreachable');
  }
  const c = parsed.data;
  const labels = new Map<string, { labels: Record<string, string> }>();
  for (const [name, meta] of Object.entries(c.serverMetadata ?? {})) labels.set(name, { labels: { ...(meta?.labels ?? {}) } });
  const config: ClusterConfig = {
    namespaces: (c.namespaces ?? []).map(toNamespace),
    servers: (c.servers ?? []).map(toServer),
    allowExtraAuthorities: c.allowExtraAuthorities ?? [],
    serverMetadata: labels,
    loadBalancer: {
      // Oxia treats a zero or missing interval as "use the default".
      scheduleIntervalMs: c.loadBalancer?.scheduleInterval || DEFAULT_LOAD_BALANCER.scheduleIntervalMs,
      quarantineTimeMs: c.loadBalancer?.quarantineTime || DEFAULT_LOAD_BALANCER.quarantineTimeMs,
    },
    autoSplit: toAutoSplit(c.autoSplit),
  };
  const problems = clusterConfigProblems(config, check);
  if (problems.length > 0) fail(problems);
  return config;
}
