// deploy/grafana and deploy/prometheus checked against what the code serves: every series a
// dashboard panel, a dashboard variable or an alert rule queries is one that a real cluster's
// storage nodes or coordinator register (scraped from real processes), every selector filters
// on the cluster, the alerts the operators were promised are there and keep the cluster label,
// and the ServiceMonitor component scrapes Services that carry that label and a metrics port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TestCluster } from '../support/cluster.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { readRepoFile, repoRoot } from './support/deploy-files.js';
import { SERVICE_MONITOR_COMPONENT, kubernetesDir, loadKustomization, objectsOfKind, selects, type ServiceSpec } from './support/kubernetes-objects.js';

const GRAFANA_DIR = 'deploy/grafana';
const ALERTS_FILE = 'deploy/prometheus/oxia-ts-alerts.yaml';
const DASHBOARDS = ['oxia-ts-overview.json', 'oxia-ts-shards.json', 'oxia-ts-nodes.json', 'oxia-ts-coordinator.json'];
const ALERTS = ['OxiaShardWithoutLeader', 'OxiaFollowerLagging', 'OxiaNodeDown', 'OxiaWalSyncLatencyHigh', 'OxiaKvStoreFallingBehind', 'OxiaDiskNearlyFull'];
const CLUSTER_LABEL = 'oxia_cluster';

interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets?: readonly { readonly expr: string }[];
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: { readonly query: string } | string }[] };
}
interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** Words of PromQL that are not series names (functions are recognised by their parenthesis). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The series names an expression queries: label matchers, range selectors and the label lists
 * of by/without/on/ignoring/group_* removed, function names (followed by "(") skipped.
 */
export function seriesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** The selectors of an expression, name and matchers: `oxia_x{a="b"}` -> ['oxia_x', 'a="b"']. */
function selectorsIn(expr: string): Array<{ name: string; matchers: string }> {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)]
    .filter((m) => seriesIn(expr).includes(m[1]!) && !/^\s*\(/.test(expr.slice(m.index + m[0].length)))
    .map((m) => ({ name: m[1]!, matchers: m[2] ?? '' }));
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if ('({['.includes(c)) depth++;
    if (')}]'.includes(c) && --depth < 0) return false;
  }
  return depth === 0;
}

function dashboards(): Array<{ file: string; d: Dashboard }> {
  return DASHBOARDS.map((file) => ({ file, d: JSON.parse(readRepoFile(`${GRAFANA_DIR}/${file}`)) as Dashboard }));
}

/** Every query of a dashboard: its panels' and its variables' (`label_values(series, label)`). */
function queriesOf(d: Dashboard): Array<{ where: string; expr: string }> {
  const queries: Array<{ where: string; expr: string }> = [];
  for (const p of d.panels) for (const t of p.targets ?? []) queries.push({ where: `panel "${p.title}"`, expr: t.expr });
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const text = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const m = /^label_values\((.*),\s*([a-zA-Z_]+)\)$/.exec(text);
    assert.ok(m, `variable ${v.name}: label_values(series, label), got ${text}`);
    queries.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return queries;
}

function alertRules(): AlertRule[] {
  const doc = parse(readRepoFile(ALERTS_FILE), { uniqueKeys: true }) as { groups: { name: string; rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

test('the series extraction finds names and only names', () => {
  assert.equal(seriesIn('sum by (le, shard) (rate(oxia_a_bucket{shard=~"$shard", x="y{z}"}[$__rate_interval]))'), ['oxia_a_bucket']);
  assert.equal(seriesIn('a_total / on (oxia_cluster) group_left (node) b > 0 unless c or vector(0)'), ['a_total', 'b', 'c']);
  assert.equal(seriesIn('histogram_quantile(0.99, sum(x_bucket) by (le))'), ['x_bucket']);
});

test('dashboards: the four, valid JSON with unique uids, balanced queries, a cluster variable, every selector filtered by cluster', () => {
  assert.equal(readdirSync(join(repoRoot, GRAFANA_DIR)).filter((f) => f.endsWith('.json')).sort(), [...DASHBOARDS].sort());
  const uids = new Set<string>();
  for (const { file, d } of dashboards()) {
    assert.ok(d.uid && !uids.has(d.uid), `${file}: a unique uid`);
    uids.add(d.uid);
    assert.ok(d.panels.some((p) => p.type !== 'row'), `${file}: has panels`);
    const cluster = d.templating.list.find((v) => v.name === 'cluster');
    assert.ok(cluster, `${file}: a cluster variable`);
    assert.match(JSON.stringify(cluster.query), `, ${CLUSTER_LABEL})`, `${file}: the cluster variable lists ${CLUSTER_LABEL}`);
    for (const { where, expr } of queriesOf(d)) {
      assert.ok(balanced(expr), `${file} ${where}: balanced brackets in ${expr}`);
      if (where.startsWith('variable cluster')) continue;
      for (const s of selectorsIn(expr)) {
        assert.match(s.matchers, `${CLUSTER_LABEL}=~"$cluster"`, `${file} ${where}: ${s.name} is filtered by cluster`);
      }
    }
  }
});

test('alert rules: the promised alerts, each with a duration, a severity and a summary, keeping the cluster label', () => {
  const rules = alertRules();
  for (const name of ALERTS) assert.ok(rules.some((r) => r.alert === name), `alert ${name}`);
  for (const r of rules) {
    assert.ok(balanced(r.expr), `${r.alert}: balanced brackets`);
    assert.ok(r.for && /^\d+[smh]$/.test(r.for), `${r.alert}: for`);
    assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`);
    assert.ok(r.annotations?.summary, `${r.alert}: summary`);
    // The outermost aggregation keeps oxia_cluster, so that the alert says which cluster.
    for (const by of r.expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
      assert.ok(by[1]!.split(',').map((l) => l.trim()).includes(CLUSTER_LABEL), `${r.alert}: groups by ${CLUSTER_LABEL} (${by[0]})`);
    }
  }
});

test('the ServiceMonitor component: each monitor selects Services with its port, carrying the labels it copies', () => {
  const d = loadKustomization(kubernetesDir, [SERVICE_MONITOR_COMPONENT]);
  const monitors = objectsOfKind(d, 'ServiceMonitor');
  assert.equal(monitors.map((m) => m.metadata.name).sort(), ['oxia-coordinator', 'oxia-server']);
  for (const m of monitors) {
    const spec = m.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[]; targetLabels: string[] };
    assert.ok(spec.targetLabels.includes(CLUSTER_LABEL), `${m.metadata.name}: targetLabels has ${CLUSTER_LABEL}`);
    const services = objectsOfKind(d, 'Service').filter((s) => selects(spec.selector.matchLabels, s.metadata.labels));
    for (const e of spec.endpoints) {
      const scraped = services.filter((s) => (s.spec as ServiceSpec).ports.some((p) => p.name === e.port));
      assert.ok(scraped.length > 0, `${m.metadata.name}: a selected Service has port ${e.port}`);
      for (const s of scraped) {
        for (const label of spec.targetLabels) assert.type(s.metadata.labels?.[label], 'string', `Service ${s.metadata.name} carries ${label}`);
      }
    }
  }
  // Both kinds of process are scraped.
  for (const component of ['server', 'coordinator']) {
    assert.ok(
      monitors.some((m) => (m.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels['app.kubernetes.io/component'] === component),
      `the ${component}s are scraped`,
    );
  }
});

test('every series the dashboards and alerts query is registered by a real cluster', async () => {
  const queried = new Map<string, string>();
  for (const { file, d } of dashboards()) for (const { where, expr } of queriesOf(d)) for (const s of seriesIn(expr)) queried.set(s, `${file} ${where}`);
  for (const r of alertRules()) for (const s of seriesIn(r.expr)) queried.set(s, `alert ${r.alert}`);
  assert.ok(queried.size > 40, `${queried.size} series queried`);

  const cluster = await TestCluster.start({ nodes: 2, namespaces: [{ name: 'default', shards: 2, rf: 2 }] });
  try {
    const shards = await cluster.leaders();
    for (const shard of shards) {
      const leader = new RawOxiaClient(shard.leader);
      try {
        await leader.put(shard.shard, { key: `/m/${shard.shard}`, value: Buffer.from('v') });
        await leader.get(shard.shard, `/m/${shard.shard}`);
      } finally {
        leader.close();
      }
    }
    // TYPE lines: families are declared once registered, with samples or not yet.
    const types = new Map<string, string>();
    const addresses = [...cluster.nodes.map((n) => String(n.process.serving.metricsAddress)), String(cluster.coordinator.serving.metricsAddress)];
    for (const address of addresses) {
      for (const m of (await scrapeMetrics(address)).text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    }
    const registered = (name: string): boolean => {
      if (types.has(name)) return true;
      const base = /^(.*)_(?:bucket|sum|count)$/.exec(name)?.[1];
      return base !== undefined && types.get(base) === 'histogram';
    };
    const missing = [...queried].filter(([name]) => !registered(name)).map(([name, where]) => `${name} (${where})`);
    assert.equal(missing, [], 'series queried but not registered');

    // Series Oxia's dashboards query that ours do not: served, with values from the traffic above.
    const coordinator = await scrapeMetrics(String(cluster.coordinator.serving.metricsAddress));
    assert.ok((coordinator.value('oxia_coordinator_metadata_size_bytes') ?? 0) > 100, 'the stored cluster status has a size');
    const nodes = await Promise.all(cluster.nodes.map((n) => scrapeMetrics(String(n.process.serving.metricsAddress))));
    const total = (name: string, where: Record<string, string>): number => nodes.reduce((sum, m) => sum + m.sum(name, where), 0);
    const write = { grpc_type: 'unary', grpc_service: 'io.oxia.proto.v1.OxiaClient', grpc_method: 'Write' };
    assert.is(total('grpc_server_handled_total', { ...write, grpc_code: 'OK' }), shards.length, 'one Write per shard, handled OK');
    assert.is(total('grpc_server_started_total', write), shards.length, 'and started');
    assert.is(total('oxia_server_kv_read_errors_total', {}), 0, 'no store read failed');
    for (const name of ['grpc_server_msg_received_total', 'grpc_server_msg_sent_total', 'grpc_server_handling_seconds', 'oxia_server_wal_read_bytes_total', 'oxia_server_wal_read_latency_milliseconds', 'oxia_server_kv_read_errors_total']) {
      assert.ok(registered(name), `${name} is registered`);
    }
  } finally {
    await cluster.close();
  }
});

test.run();
