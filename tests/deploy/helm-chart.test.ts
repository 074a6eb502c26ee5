// deploy/helm/oxia-ts checked without helm (ADR 0027): the templates are read by the Go-template
// subset of support/go-template.ts, which refuses any construct it does not implement; every
// `.Values` reference has a default in values.yaml and every value is read; every flag the
// templates pass is one `oxia-ts <cmd> --help` lists; and rendered with the values that describe
// each kustomization of deploy/kubernetes, the chart produces the same objects as that
// kustomization (Helm's own labels aside), so that deploy/kubernetes stays the one description the
// other checks (tests/deploy/manifests.test.ts, which also runs them on chart renders) hold to.
// With helm installed, `helm template` must agree with the subset's rendering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { assertNoProblems, commandHelp, flagProblems, flagValues } from './support/cli-help.js';
import { readRepoFile, repoRoot } from './support/deploy-files.js';
import { ChartFailure, parseTemplate, type Value } from './support/go-template.js';
import { CHART_DIR, chartValuesReferences, HELM_ONLY_LABELS, KUSTOMIZE_RELEASE, loadChart, renderChart, type Release } from './support/helm-chart.js';
import { HELM_VARIANTS } from './support/helm-variants.js';
import { KUSTOMIZATIONS, loadKustomization, objectsOfKind, selects, theObject, workloadSpec, type Deployment, type K8sObject, type ServiceSpec } from './support/kubernetes-objects.js';

// ---- the templates -----------------------------------------------------------------------------

test('Chart.yaml: a v2 application chart named oxia-ts, its appVersion the package version', () => {
  const { meta } = loadChart();
  const pkg = JSON.parse(readRepoFile('package.json')) as { version: string };
  assert.is(meta.apiVersion, 'v2');
  assert.is(meta.name, 'oxia-ts');
  assert.match(meta.version, /^\d+\.\d+\.\d+$/, 'a SemVer chart version');
  assert.is(meta.appVersion, pkg.version);
  assert.is((loadChart().values as { image: { tag: string } }).image.tag, pkg.version, 'the image tag defaults to the package version');
});

test('every template is inside the subset the evaluator implements (it refuses the rest)', () => {
  assert.ok(loadChart().templates.length >= 10, 'the templates are read');
  // The evaluator must refuse what it does not implement, not render it wrongly.
  for (const refused of ['{{ with .Values.x }}{{ end }}', '{{ .Values.x | toJson }}', '{{ range .Values.x }}{{ end }}', '{{ .name }}', '{{ template "x" . }}', '{{ tpl .Values.x . }}']) {
    assert.throws(() => parseTemplate('probe.yaml', refused), /subset|range must bind|only \.Values|not in/, `refuses ${refused}`);
  }
});

test('every .Values reference in the templates has a default in values.yaml', () => {
  const { values } = loadChart();
  const refs = chartValuesReferences();
  assert.ok(refs.length > 20, `found ${refs.length} references`);
  for (const { path, where } of refs) {
    let v: unknown = values;
    for (const key of path) {
      assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v) && key in v, `${where}: .Values.${path.join('.')} has a default in values.yaml`);
      v = (v as Record<string, unknown>)[key];
    }
  }
});

test('every value in values.yaml is read by a template (a misspelt key would be silently ignored)', () => {
  const refs = chartValuesReferences().map((r) => r.path.join('.'));
  const leaves = (v: unknown, prefix: string[]): string[][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
      ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...prefix, k]))
      : [prefix];
  for (const leaf of leaves(loadChart().values, [])) {
    // Read itself, or as part of a map a template passes whole (toYaml).
    const used = refs.some((r) => leaf.join('.') === r || leaf.join('.').startsWith(`${r}.`));
    assert.ok(used, `values.yaml: ${leaf.join('.')} is read by a template`);
  }
});

/** The `oxia-ts` subcommand each template's flags go to, besides `oxia-ts health` in probes. */
const TEMPLATE_COMMAND: Readonly<Record<string, string>> = {
  'server-statefulset.yaml': 'server',
  'coordinator-deployment.yaml': 'coordinator',
};

test('every --flag written in a template, in every branch, is one the CLI accepts', () => {
  let flags = 0;
  for (const [file, source] of loadChart().sources) {
    const name = file.split('/').pop() ?? '';
    const written = [...source.matchAll(/^\s*- (--[a-z0-9-]+(?:=.*)?)$/gm)].map((m) => m[1] ?? '');
    if (written.length === 0) continue;
    const command = TEMPLATE_COMMAND[name];
    assert.ok(command, `${file} passes flags: tests/deploy must know which subcommand (TEMPLATE_COMMAND)`);
    const accepted = new Set([...commandHelp(command ?? '').flags.keys(), ...commandHelp('health').flags.keys()]);
    for (const word of written) {
      flags++;
      const flag = /^--([a-z0-9-]+)/.exec(word)?.[1] ?? '';
      assert.ok(accepted.has(flag), `${file}: ${word}: oxia-ts ${command} (or health) has no flag --${flag}`);
    }
  }
  assert.ok(flags > 30, `found ${flags} flags`);
});

// ---- the chart against deploy/kubernetes --------------------------------------------------------

/** An object with Helm's own labels removed (after checking they are there) and ConfigMap data parsed, for comparison. */
function comparable(o: K8sObject, helm: boolean): unknown {
  const copy = structuredClone(o) as Omit<K8sObject, 'data'> & { metadata: { labels?: Record<string, string> }; data?: Record<string, unknown> };
  if (helm) {
    for (const label of HELM_ONLY_LABELS) {
      assert.ok(copy.metadata.labels?.[label] !== undefined, `${o.kind} ${o.metadata.name}: label ${label}`);
      delete copy.metadata.labels?.[label];
    }
  }
  // The same document written differently (toYaml sorts keys) is the same setting.
  if (copy.data) for (const [k, v] of Object.entries(copy.data)) copy.data[k] = parse(String(v)) as unknown;
  return copy;
}

function assertSameObjects(chart: Deployment, kustomized: Deployment, what: string): void {
  const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const ours = new Map(chart.objects.map((o) => [key(o), o]));
  assert.equal([...ours.keys()].sort(), kustomized.objects.map(key).sort(), `${what}: the same objects`);
  for (const o of kustomized.objects) assert.equal(comparable(ours.get(key(o))!, true), comparable(o, false), `${what}: ${key(o)}`);
}

/** Values describing the kustomization of each variant: the settings its components carry, read from them. */
function valuesFor(dir: string, extraComponents: readonly string[]): Value {
  const k = loadKustomization(dir, extraComponents);
  const data = (name: string, key: string): string | undefined => k.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)?.data?.[key];
  const tls = k.objects.some((o) => o.kind === 'StatefulSet' && JSON.stringify(o).includes('--tls-cert-file'));
  const discovery = JSON.stringify(theObject(k, 'Deployment', 'oxia-coordinator')).includes('--discovery=kubernetes') ? 'kubernetes' : 'static';
  const params = data('oxia-oidc', 'provider-params');
  const policy = data('oxia-authorization-policy', 'policy.yaml');
  const staticKey = objectsOfKind(k, 'StatefulSet')
    .flatMap((s) => workloadSpec(s).template.spec.volumes ?? [])
    .find((v) => v.name === 'oidc-key')?.secret?.secretName;
  const oxiaCluster = theObject(k, 'Service', 'oxia').metadata.labels?.oxia_cluster;
  return {
    tls: { enabled: tls },
    coordinator: { discovery },
    auth: {
      oidc: { enabled: params !== undefined, ...(params !== undefined ? { providerParams: params.trim() } : {}), staticKeySecret: staticKey ?? '' },
      authorizationPolicy: { enabled: policy !== undefined, ...(policy !== undefined ? { policy: parse(policy) as Value } : {}) },
    },
    metrics: { oxiaCluster: oxiaCluster ?? '', serviceMonitor: { enabled: objectsOfKind(k, 'ServiceMonitor').length > 0 } },
  };
}

for (const variant of KUSTOMIZATIONS) {
  test(`the chart renders what ${variant.name} holds, given the values that describe it`, () => {
    const values = valuesFor(variant.dir, variant.extraComponents);
    assertSameObjects(renderChart(values), loadKustomization(variant.dir, variant.extraComponents), variant.name);
  });
}

test('with the default values the chart renders deploy/kubernetes', () => {
  assertSameObjects(renderChart(), loadKustomization(KUSTOMIZATIONS[0]!.dir), 'defaults');
});

// ---- what only the chart has --------------------------------------------------------------------

test('the chart refuses OIDC tokens without TLS', () => {
  assert.throws(() => renderChart({ auth: { oidc: { enabled: true } } }), (e: unknown) => e instanceof ChartFailure && /needs tls\.enabled/.test(e.message));
  assert.throws(() => renderChart({ coordinator: { discovery: 'dns' } }), (e: unknown) => e instanceof ChartFailure);
});

test('the console: a coordinator flag, container port and Service port at console.port', () => {
  for (const port of [6652, 7000]) {
    const d = renderChart({ console: { enabled: true, port } });
    const deployment = theObject(d, 'Deployment', 'oxia-coordinator');
    const container = workloadSpec(deployment).template.spec.containers[0]!;
    const [subcommand = '', ...flags] = container.args ?? [];
    assertNoProblems(flagProblems('coordinator', subcommand, flags));
    assert.is(flagValues(flags).get('console-addr'), `0.0.0.0:${port}`);
    assert.ok(container.ports?.some((p) => p.name === 'console' && p.containerPort === port), 'a container port named console');
    const service = theObject(d, 'Service', 'oxia-coordinator').spec as ServiceSpec;
    assert.ok(service.ports.some((p) => p.name === 'console' && p.port === port && p.targetPort === 'console'), 'the coordinator Service exposes it');
  }
  const off = renderChart();
  assert.not.ok(JSON.stringify(off.objects).includes('console'), 'nothing of it with console.enabled false');
});

test('ServiceMonitors: each selects a Service with the metrics port of its component, over HTTPS with that component\'s CA on TLS, copying oxia_cluster', () => {
  assert.is(objectsOfKind(renderChart(), 'ServiceMonitor').length, 0, 'none by default');
  for (const tls of [false, true]) {
    const d = renderChart({ tls: { enabled: tls }, metrics: { oxiaCluster: 'prod-1', serviceMonitor: { enabled: true } } });
    const monitors = objectsOfKind(d, 'ServiceMonitor');
    assert.is(monitors.length, 2, 'one for the storage nodes, one for the coordinators');
    for (const m of monitors) {
      const spec = m.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; scheme?: string; tlsConfig?: { ca: { secret: { name: string; key: string } }; serverName: string } }[]; targetLabels?: string[] };
      assert.is(m.apiVersion, 'monitoring.coreos.com/v1');
      const services = objectsOfKind(d, 'Service').filter((s) => selects(spec.selector.matchLabels, s.metadata.labels));
      for (const endpoint of spec.endpoints) {
        const serving = services.filter((s) => (s.spec as ServiceSpec).ports.some((p) => p.name === endpoint.port));
        assert.ok(serving.length > 0, `ServiceMonitor ${m.metadata.name}: a selected Service has the port ${endpoint.port}`);
        const component = spec.selector.matchLabels['app.kubernetes.io/component'];
        const workload = [...objectsOfKind(d, 'StatefulSet'), ...objectsOfKind(d, 'Deployment')].find((w) => workloadSpec(w).template.metadata.labels?.['app.kubernetes.io/component'] === component);
        assert.ok(workload, `ServiceMonitor ${m.metadata.name}: selects the Services of a workload`);
        for (const s of serving) assert.ok(selects((s.spec as ServiceSpec).selector, workloadSpec(workload!).template.metadata.labels), `${s.metadata.name} routes to ${workload!.metadata.name}`);
        if (!tls) {
          assert.is(endpoint.scheme, undefined, 'plain HTTP');
          continue;
        }
        assert.is(endpoint.scheme, 'https');
        // The CA of the certificate the workload serves /metrics with.
        const container = workloadSpec(workload!).template.spec.containers[0]!;
        const certFile = flagValues(container.args ?? []).get('metrics-tls-cert-file') ?? '';
        const mount = container.volumeMounts?.find((vm) => certFile.startsWith(`${vm.mountPath}/`));
        const secret = workloadSpec(workload!).template.spec.volumes?.find((v) => v.name === mount?.name)?.secret;
        assert.is(endpoint.tlsConfig?.ca.secret.name, secret?.secretName, `ServiceMonitor ${m.metadata.name}: the CA of ${certFile}`);
        assert.is(endpoint.tlsConfig?.ca.secret.key, 'ca.crt');
        const probeName = flagValues((container.readinessProbe?.exec?.command ?? []).slice(2)).get('tls-server-name');
        assert.is(endpoint.tlsConfig?.serverName, probeName, 'the name on the certificate (the one the probes ask for)');
      }
      assert.equal(spec.targetLabels, ['oxia_cluster']);
      const scraped = services.filter((s) => (s.spec as ServiceSpec).ports.some((p) => spec.endpoints.some((e) => e.port === p.name)));
      for (const s of scraped) assert.is(s.metadata.labels?.oxia_cluster, 'prod-1', `Service ${s.metadata.name} carries oxia_cluster`);
    }
  }
});

test('oxia_cluster: the release name unless metrics.oxiaCluster names the cluster', () => {
  const labels = (values: Value, release: Release): (string | undefined)[] =>
    objectsOfKind(renderChart(values, release), 'Service').filter((s) => (s.spec as ServiceSpec).ports.some((p) => p.name === 'metrics' || p.name === 'public')).map((s) => s.metadata.labels?.oxia_cluster);
  const monitored = { serviceMonitor: { enabled: true } };
  assert.equal(labels({ metrics: monitored }, { name: 'prod', namespace: 'metadata' }), ['prod', 'prod', 'prod']);
  assert.equal(labels({ metrics: { ...monitored, oxiaCluster: 'eu-1' } }, { name: 'prod', namespace: 'metadata' }), ['eu-1', 'eu-1', 'eu-1']);
});

test('the variants manifests.test.ts checks on chart renders are rendered by the chart (no ChartFailure)', () => {
  assert.ok(HELM_VARIANTS.length >= 2);
  for (const v of HELM_VARIANTS) assert.ok(v.render().objects.length >= 11, v.name);
});

// ---- helm itself, when installed ---------------------------------------------------------------

test('helm template renders what the subset renders (when helm is installed)', () => {
  const cases: { values: Value; release: typeof KUSTOMIZE_RELEASE }[] = [
    { values: {}, release: KUSTOMIZE_RELEASE },
    ...HELM_VARIANTS.map((v) => ({ values: v.values, release: v.release })),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'oxia-helm-'));
  try {
    for (const [i, c] of cases.entries()) {
      const file = join(dir, `values-${i}.yaml`);
      writeFileSync(file, stringify(c.values));
      const r = spawnSync('helm', ['template', c.release.name, join(repoRoot, CHART_DIR), '--namespace', c.release.namespace, '-f', file], { encoding: 'utf8', timeout: 60_000 });
      if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
        console.log('  (helm not installed: the chart was rendered by the subset only)');
        return;
      }
      assert.is(r.status, 0, r.stderr);
      const theirs = r.stdout.split(/^---$/m).map((doc) => parse(doc) as K8sObject | null).filter((o): o is K8sObject => o !== null);
      const key = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;
      const ours = new Map(renderChart(c.values, c.release).objects.map((o) => [key(o), o]));
      assert.equal(theirs.map(key).sort(), [...ours.keys()].sort());
      for (const o of theirs) assert.equal(comparable(o, false), comparable(ours.get(key(o))!, false), key(o));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
