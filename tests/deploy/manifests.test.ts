// deploy/kubernetes checked for what would break a real deploy, in each kustomization users
// apply (the default, the Kubernetes discovery variant, the TLS variant with and without its
// optional components): the CLI flags the containers pass (against the real `oxia-ts <cmd>
// --help`) and their values (the roles' own settings parsers), ports that must agree between
// flags, containers, Services and probes, probes that can speak to a port on TLS, every file a
// flag names present in a mounted Secret or ConfigMap, the cluster config (the coordinator's
// own parser) naming exactly the StatefulSet's pods, the disruption budget against the
// replication factor, RBAC against the Kubernetes API calls that the adapters in use make, and
// the cert-manager example making the Secrets the TLS variant mounts, for the names it is
// dialled by. The same checks run on renders of the Helm chart that no kustomization equals
// (support/helm-variants.ts; helm-chart.test.ts compares the others with their kustomization).
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { CONFIG_KEY } from '../../src/adapters/cluster-config/configmap-cluster-config-source.js';
import { parseClusterConfigYaml } from '../../src/adapters/cluster-config/cluster-config-yaml.js';
import { parseClusterConfigLocation } from '../../src/adapters/cluster-config/config-location.js';
import { LIVENESS_HEALTH_SERVICE, PUBLIC_HEALTH_SERVICES } from '../../src/adapters/grpc/health-service.js';
import { STATUS_KEY } from '../../src/adapters/status-configmap/configmap-cluster-status-store.js';
import type { ClusterConfig } from '../../src/domain/cluster/cluster-config.js';
import { assertNoProblems, cliSubcommands, flagProblems, flagValues } from './support/cli-help.js';
import { deployDir, filesUnder, readRepoFile, repoRoot, yamlDocuments } from './support/deploy-files.js';
import {
  CERT_MANAGER_DIR,
  KUSTOMIZATIONS,
  TLS_DIR,
  kubernetesDir,
  loadKustomization,
  memoryMiB,
  objectsOfKind,
  selects,
  theObject,
  workloadSpec,
  type Container,
  type Deployment,
  type K8sObject,
  type Kustomization,
  type PodTemplate,
  type PolicyRule,
  type Probe,
  type ServiceSpec,
  type Variant,
} from './support/kubernetes-objects.js';
import { authParamsFiles, containerEnv, expandReferences, fileFlags, mountedFile, type MountedFile } from './support/pod-files.js';
import { gracefulStopBudgetMs, validateFlagValues } from './support/role-settings.js';
import { HELM_VARIANTS } from './support/helm-variants.js';
import { leaseHolderIdentity } from '../../src/bootstrap/containers/coordinator-container.js';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { parsePolicyDocument } from '../../src/adapters/access-policy-file/policy-document.js';

const BASE_DIR = `${kubernetesDir}/base`;
/** The workloads, by kind: one each (their names depend on the Helm release). */
const STORAGE_KIND = 'StatefulSet';
const COORDINATOR_KIND = 'Deployment';
/** The flags that bind each named container port, by role: the coordinator's public listener is the admin API. */
const PORT_FLAGS: Record<string, Readonly<Record<string, string>>> = {
  server: { public: 'public-addr', internal: 'internal-addr', metrics: 'metrics-addr' },
  coordinator: { admin: 'public-addr', internal: 'internal-addr', metrics: 'metrics-addr', console: 'console-addr' },
};
/** The coordinator's admin API (ADR 0022): its container port and the port Oxia gives it. */
const ADMIN_PORT_NAME = 'admin';
const OXIA_ADMIN_PORT = 6651;

function portOf(address: string | undefined): number | undefined {
  const m = address === undefined ? null : /:(\d+)$/.exec(address);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function hostOf(address: string): string {
  return address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

// ---- the files ----------------------------------------------------------------------------------

test('every YAML file under deploy/ parses (no syntax errors, no duplicate keys)', () => {
  // Helm templates are YAML only once rendered: helm-chart.test.ts parses their renders.
  const yamlFiles = filesUnder(deployDir).filter((f) => /\.ya?ml$/.test(f) && !/^deploy\/helm\/[^/]+\/templates\//.test(f));
  assert.ok(yamlFiles.length >= 10, `found ${yamlFiles.length} YAML files`);
  for (const file of yamlFiles) {
    const docs = yamlDocuments(file);
    assert.ok(docs.length > 0 && docs.every((d) => d.content !== null && typeof d.content === 'object'), `${file} holds mappings`);
  }
});

test('the base kustomization includes every manifest beside it', () => {
  const manifests = readdirSync(join(repoRoot, BASE_DIR)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  const base = yamlDocuments(`${BASE_DIR}/kustomization.yaml`)[0]?.content as Kustomization;
  assert.equal([...(base.resources ?? [])].sort(), manifests.sort(), 'resources = the YAML files in base/');
});

test('every manifest is written for the namespace the base sets (the DNS names and flags embed it)', () => {
  const base = yamlDocuments(`${BASE_DIR}/kustomization.yaml`)[0]?.content as Kustomization;
  assert.type(base.namespace, 'string', 'base/kustomization.yaml sets a namespace');
  for (const file of base.resources ?? []) {
    for (const doc of yamlDocuments(`${BASE_DIR}/${file}`)) {
      const o = doc.content as K8sObject;
      assert.is(o.metadata.namespace, base.namespace, `${file}: ${o.kind} ${o.metadata.name} names namespace ${base.namespace}`);
      for (const s of o.subjects ?? []) assert.is(s.namespace, base.namespace, `${file}: subject ${s.name}`);
    }
  }
  assert.not.ok(
    readdirSync(join(repoRoot, BASE_DIR)).some((f) => (yamlDocuments(`${BASE_DIR}/${f}`)[0]?.content as K8sObject).kind === 'Namespace'),
    'no Namespace object: `kubectl delete -k` must not delete the volumes and the status with it',
  );
});

test('the README reaches the acting coordinator by the Lease holder: its pod name, "_", a random suffix', () => {
  const identity = leaseHolderIdentity();
  assert.match(identity, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_[0-9a-f]+$`), `${identity}: the host name (in a pod, the pod's name), "_", a suffix`);
  const readme = readRepoFile(`${kubernetesDir}/README.md`);
  assert.ok(readme.includes('port-forward "pod/${POD%_*}" 6651:6651'), 'the README strips the suffix after the last "_" to name the pod');
});

test.run();

// ---- each kustomization -------------------------------------------------------------------------

interface RunningContainer {
  readonly where: string;
  readonly workload: K8sObject;
  readonly template: PodTemplate;
  readonly container: Container;
  readonly subcommand: string;
  /** After the subcommand, with `$(VAR)` references expanded from the container's environment. */
  readonly flags: readonly string[];
  readonly values: Map<string, string>;
  /** Environment references that cannot be resolved, and ConfigMap keys that are missing. */
  readonly envProblems: readonly string[];
}

interface ApiNeed {
  /** The API group ('' for core/v1). */
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  /** The one object the call is about, when it is always the same; undefined = any. */
  readonly name: string | undefined;
  readonly why: string;
}

/** The generated client classes the adapters use, and the API group each calls. */
const API_GROUPS: readonly (readonly [string, string])[] = [
  ['CoreV1Api', ''],
  ['CoordinationV1Api', 'coordination.k8s.io'],
];

const VERB_OF: Record<string, readonly string[]> = {
  read: ['get'],
  create: ['create'],
  replace: ['update'],
  patch: ['patch'],
  delete: ['delete'],
  // Every list in the adapters feeds a ResourceWatch, which then watches from the list's version.
  list: ['list', 'watch'],
};

/**
 * Which flags set up each gRPC listener's TLS, by role: a server's --tls-* protect its public
 * port, a coordinator's its internal one (its public one is the admin API, --public-tls-*).
 */
const LISTENER_TLS_PREFIX: Record<string, Partial<Record<'public' | 'internal', string>>> = {
  server: { public: '', internal: 'internal-' },
  coordinator: { internal: '', public: 'public-' },
  standalone: { public: '' },
};

interface Listener {
  readonly name: 'public' | 'internal';
  readonly tls: boolean;
  readonly clientAuth: boolean;
}

/** A boolean flag as the CLI reads it: the last of `--x`, `--x=true|false`, `--no-x`. */
function flagIsOn(words: readonly string[], name: string): boolean {
  let on = false;
  for (const w of words) {
    if (w === `--${name}`) on = true;
    else if (w === `--no-${name}`) on = false;
    else if (w.startsWith(`--${name}=`)) on = w.slice(name.length + 3) === 'true';
  }
  return on;
}

/** The gRPC listeners a container binds, by port. */
function listenersOf(c: RunningContainer): Map<number, Listener> {
  const out = new Map<number, Listener>();
  for (const name of ['public', 'internal'] as const) {
    const port = portOf(c.values.get(`${name}-addr`));
    if (port === undefined) continue;
    const prefix = LISTENER_TLS_PREFIX[c.subcommand]?.[name];
    out.set(port, {
      name,
      tls: prefix !== undefined && c.values.has(`${prefix}tls-cert-file`),
      clientAuth: prefix !== undefined && flagIsOn(c.flags, `${prefix}tls-client-auth`),
    });
  }
  return out;
}

interface HealthCommand {
  readonly words: readonly string[];
  readonly values: Map<string, string>;
}

/** The port and health service a probe asks, and for an exec probe its `oxia-ts health` flags (checked against `oxia-ts health --help`). */
function probeTarget(where: string, probe: Probe): { port: number; service: string; health?: HealthCommand } {
  if (probe.grpc) return { port: probe.grpc.port, service: probe.grpc.service ?? '' };
  const command = probe.exec?.command ?? [];
  assert.equal(command.slice(0, 2), ['oxia-ts', 'health'], `${where}: a native gRPC probe, or an exec probe running the image's oxia-ts health`);
  const words = command.slice(2);
  assertNoProblems(flagProblems(where, 'health', words));
  const values = flagValues(words);
  const address = values.get('address') ?? '';
  // The listeners bind every interface; loopback keeps the probe inside the pod.
  assert.is(hostOf(address), '127.0.0.1', `${where}: --address=${address} is the pod's loopback`);
  return { port: portOf(address) ?? -1, service: values.get('service') ?? '', health: { words, values } };
}

/** The `oxia-ts health` flags of a container's exec probes. */
function probeCommands(c: RunningContainer): { kind: string; words: readonly string[] }[] {
  const probes = { readinessProbe: c.container.readinessProbe, livenessProbe: c.container.livenessProbe, startupProbe: c.container.startupProbe };
  return Object.entries(probes).flatMap(([kind, probe]) => (probe?.exec ? [{ kind, words: probe.exec.command.slice(2) }] : []));
}

/** One rendered kustomization and the questions the checks ask of it. */
class View {
  readonly namespace: string | undefined;
  readonly containers: readonly RunningContainer[];
  readonly services: readonly { object: K8sObject; spec: ServiceSpec }[];

  constructor(readonly d: Deployment) {
    this.namespace = d.namespace;
    this.containers = [...objectsOfKind(d, 'StatefulSet'), ...objectsOfKind(d, 'Deployment')].flatMap((workload) => {
      const template = workloadSpec(workload).template;
      return template.spec.containers.map((container) => {
        const where = `${workload.kind} ${workload.metadata.name} container ${container.name}`;
        const { env, problems } = containerEnv(container, d);
        const envProblems = problems.map((p) => `${where}: ${p}`);
        const words = (container.args ?? []).map((arg) => {
          const { text, unresolved } = expandReferences(arg, env);
          for (const name of unresolved) envProblems.push(`${where}: ${arg} refers to $(${name}), which its env does not define`);
          return text;
        });
        const [subcommand = '', ...flags] = words;
        return { where, workload, template, container, subcommand, flags, values: flagValues(flags), envProblems };
      });
    });
    this.services = objectsOfKind(d, 'Service').map((object) => ({ object, spec: object.spec as ServiceSpec }));
  }

  /** The one workload of a kind. */
  workload(kind: string): K8sObject {
    const found = objectsOfKind(this.d, kind);
    if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
    return found[0]!;
  }

  containerOf(workload: K8sObject): RunningContainer {
    const found = this.containers.filter((c) => c.workload === workload);
    if (found.length !== 1) throw new Error(`expected one container in ${workload.metadata.name}, found ${found.length}`);
    return found[0]!;
  }

  storage() {
    const statefulSet = this.workload(STORAGE_KIND);
    const spec = workloadSpec(statefulSet);
    const headless = theObject(this.d, 'Service', spec.serviceName ?? '(no serviceName)');
    return { statefulSet, spec, headless, headlessSpec: headless.spec as ServiceSpec, container: this.containerOf(statefulSet) };
  }

  coordinator() {
    const object = this.workload(COORDINATOR_KIND);
    return { object, spec: workloadSpec(object), container: this.containerOf(object) };
  }

  /** The cluster config ConfigMap the coordinator's --conf names, parsed as the coordinator parses it. */
  clusterConfig(): { configMap: K8sObject; config: ClusterConfig } {
    const conf = this.coordinator().container.values.get('conf');
    assert.ok(conf, 'the coordinator is given --conf');
    const location = parseClusterConfigLocation(conf);
    if (location.kind !== 'configmap') throw new Error(`--conf=${conf} does not name a ConfigMap (configmap:<namespace>/<name>)`);
    assert.is(location.namespace, this.namespace, '--conf names a ConfigMap in the deployment namespace');
    const configMap = theObject(this.d, 'ConfigMap', location.name);
    const text = configMap.data?.[CONFIG_KEY];
    assert.type(text, 'string', `ConfigMap ${location.name} has the key ${CONFIG_KEY}`);
    return { configMap, config: parseClusterConfigYaml(text ?? '', `ConfigMap ${location.name}`, { serversRequired: true }) };
  }

  /** True when a container serves TLS (the TLS variant). */
  tls(): boolean {
    return this.containers.some((c) => fileFlags(c.flags).some((f) => f.flag.endsWith('tls-cert-file')));
  }

  kubernetesDiscovery(): boolean {
    return this.coordinator().container.values.get('discovery') === 'kubernetes';
  }

  /**
   * The Kubernetes API access the coordinator's flags switch on, derived from the adapters'
   * CoreV1Api and CoordinationV1Api calls: a new call in an adapter changes what is needed
   * without anyone editing a list here.
   */
  neededAccess(): ApiNeed[] {
    const { values } = this.coordinator().container;
    const conf = parseClusterConfigLocation(values.get('conf') ?? '');
    // Adapter directory -> whether this deployment uses it, and the object it always addresses.
    const adapters: Record<string, { used: boolean; name: string | undefined }> = {
      'status-configmap': { used: values.get('metadata') === 'configmap', name: values.get('k8s-configmap-name') },
      'cluster-config': { used: conf.kind === 'configmap', name: conf.kind === 'configmap' ? conf.name : undefined },
      'discovery-kubernetes': { used: this.kubernetesDiscovery(), name: undefined },
    };
    const needs: ApiNeed[] = [];
    for (const file of filesUnder(join(repoRoot, 'src/adapters')).filter((f) => f.endsWith('.ts'))) {
      const source = readRepoFile(file);
      const calls = [...source.matchAll(/\bthis\.api\.(\w+)\(/g)].map((m) => m[1] ?? '');
      const group = API_GROUPS.find(([api]) => source.includes(api))?.[1];
      if (calls.length === 0 || group === undefined) continue;
      const dir = file.split('/')[2] ?? '';
      const adapter = adapters[dir];
      if (!adapter) throw new Error(`${file} calls the Kubernetes API but tests/deploy does not know when the coordinator uses ${dir}: add it to neededAccess()`);
      if (!adapter.used) continue;
      for (const call of calls) {
        const m = /^(read|create|replace|patch|delete|list)Namespaced([A-Z]\w*)$/.exec(call);
        if (!m?.[1] || !m[2]) throw new Error(`${file}: API call ${call} is not one tests/deploy can map to RBAC verbs`);
        const kind = m[2].toLowerCase();
        const resource = kind.endsWith('s') ? kind : `${kind}s`;
        for (const verb of VERB_OF[m[1]] ?? []) needs.push({ group, resource, verb, name: adapter.name, why: `${file}: ${call}` });
      }
    }
    return needs;
  }

  coordinatorRole(): { role: K8sObject; rules: readonly PolicyRule[] } {
    const account = this.coordinator().spec.template.spec.serviceAccountName;
    assert.ok(account, 'the coordinator runs under its own ServiceAccount');
    theObject(this.d, 'ServiceAccount', account ?? '');
    const bindings = objectsOfKind(this.d, 'RoleBinding').filter((b) => b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === account));
    assert.is(bindings.length, 1, `one RoleBinding for ServiceAccount ${account}`);
    assert.is(objectsOfKind(this.d, 'ClusterRoleBinding').length, 0, 'no cluster-wide rights');
    const roleRef = bindings[0]?.roleRef;
    assert.is(roleRef?.kind, 'Role');
    const role = theObject(this.d, 'Role', roleRef?.name ?? '');
    return { role, rules: role.rules ?? [] };
  }
}

function grants(rule: PolicyRule, need: ApiNeed): boolean {
  const names = rule.resourceNames ?? [];
  return (
    (rule.apiGroups ?? []).includes(need.group) &&
    (rule.resources ?? []).includes(need.resource) &&
    rule.verbs.includes(need.verb) &&
    (names.length === 0 || (need.name !== undefined && names.includes(need.name)))
  );
}

/** What the checks run on: a kustomization (then also compared with `kubectl kustomize`), or a render of the Helm chart. */
interface Checked {
  readonly name: string;
  readonly load: () => Deployment;
  readonly kustomization: Variant | undefined;
}

function kustomizationChecks(checked: Checked) {
  const t = suite(checked.name);
  let cached: View | undefined;
  const view = (): View => (cached ??= new View(checked.load()));

  t('renders: each object once, in one namespace', () => {
    const { d } = view();
    const ids = d.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(ids.length, new Set(ids).size, `no object twice: ${ids.join(', ')}`);
    assert.type(d.namespace, 'string', 'a namespace');
    for (const o of d.objects) {
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${d.sourceOf.get(o)}: apiVersion, kind, metadata.name`);
      assert.is(o.metadata.namespace, d.namespace, `${o.kind} ${o.metadata.name} in ${d.namespace}`);
    }
  });

  t('containers run an oxia-ts subcommand with flags that `oxia-ts <cmd> --help` lists, and valid values', () => {
    const v = view();
    assert.ok(v.containers.length >= 2, 'a storage and a coordinator container');
    const subcommands = cliSubcommands();
    for (const c of v.containers) {
      assert.equal(c.container.command, ['oxia-ts'], `${c.where}: command is the image's oxia-ts`);
      assert.ok(subcommands.includes(c.subcommand), `${c.where}: "${c.subcommand}" is one of ${subcommands.join(', ')}`);
      assertNoProblems(c.envProblems);
      assertNoProblems(flagProblems(c.where, c.subcommand, c.flags));
      assertNoProblems(validateFlagValues(c.where, c.subcommand, c.flags));
    }
    assert.is(v.storage().container.subcommand, 'server');
    assert.is(v.coordinator().container.subcommand, 'coordinator');
  });

  t('ports agree: bind flags, named container ports, Services and probes', () => {
    const v = view();
    for (const c of v.containers) {
      const ports = c.container.ports ?? [];
      const portFlags = PORT_FLAGS[c.subcommand] ?? {};
      assert.ok(ports.length > 0, `${c.where}: declares its ports`);
      for (const port of ports) {
        const flag = portFlags[port.name ?? ''];
        assert.ok(flag, `${c.where}: port ${port.name} is one of ${Object.keys(portFlags).join(', ')}`);
        const address = c.values.get(flag);
        assert.ok(address, `${c.where}: port ${port.name} is bound by an explicit --${flag}`);
        // In a pod, loopback is unreachable from anywhere else (peers, Services, the kubelet's probes).
        assert.ok(['0.0.0.0', '::', ''].includes(hostOf(address)), `${c.where}: --${flag}=${address} listens on every interface`);
        assert.is(portOf(address), port.containerPort, `${c.where}: --${flag} port = container port ${port.name}`);
      }
      for (const [name, flag] of Object.entries(portFlags)) {
        if (c.values.has(flag)) assert.ok(ports.some((p) => p.name === name), `${c.where}: --${flag} has a container port named ${name}`);
      }
    }
    for (const { object, spec } of v.services) {
      const selected = v.containers.filter((c) => selects(spec.selector, c.template.metadata.labels));
      assert.ok(selected.length > 0, `Service ${object.metadata.name} selects a workload's pods`);
      for (const port of spec.ports) {
        for (const c of selected) {
          const target = port.targetPort ?? port.port;
          const found = (c.container.ports ?? []).find((p) => (typeof target === 'string' ? p.name === target : p.containerPort === target));
          assert.ok(found, `Service ${object.metadata.name} port ${port.name}: target ${target} is a port of ${c.where}`);
          assert.is(port.port, found?.containerPort, `Service ${object.metadata.name} port ${port.name} exposes the container's number`);
        }
      }
    }
  });

  t('probes ask grpc.health.v1 on a gRPC port: natively on plaintext, through `oxia-ts health` with the TLS flags on TLS', () => {
    const v = view();
    for (const c of v.containers) {
      const grpcListeners = listenersOf(c);
      assert.ok(c.container.readinessProbe && c.container.livenessProbe, `${c.where}: readiness and liveness probes`);
      const probes: Array<[string, Probe | undefined]> = [
        ['readinessProbe', c.container.readinessProbe],
        ['livenessProbe', c.container.livenessProbe],
        ['startupProbe', c.container.startupProbe],
      ];
      for (const [kind, probe] of probes) {
        if (!probe) continue;
        const where = `${c.where} ${kind}`;
        const asked = probeTarget(where, probe);
        const listener = grpcListeners.get(asked.port);
        assert.ok(listener, `${where}: port ${asked.port} is a gRPC port the container binds (${[...grpcListeners.keys()].join(', ')})`);
        if (!listener) continue;
        if (listener.name === 'public') assert.ok(PUBLIC_HEALTH_SERVICES.includes(asked.service), `${where}: "${asked.service}" is a health service the server reports`);
        // Storage nodes' liveness asks oxia-liveness: "" goes NOT_SERVING while the disk is full (ADR 0029).
        else assert.ok(['', LIVENESS_HEALTH_SERVICE].includes(asked.service), `${where}: the internal port is asked about the whole process or its liveness`);
        if (!listener.tls) {
          // An exec probe would start Node every few seconds; the kubelet speaks gRPC health itself.
          assert.ok(probe.grpc, `${where}: port ${asked.port} is plaintext: a native gRPC probe`);
          continue;
        }
        // The kubelet's gRPC probe speaks plaintext only: a port on TLS needs `oxia-ts health`.
        const health = asked.health;
        assert.ok(health, `${where}: port ${asked.port} is on TLS: an exec probe running oxia-ts health (the kubelet's gRPC probe cannot do TLS)`);
        if (!health) continue;
        assert.ok(health.values.has('tls-trusted-ca-file'), `${where}: --tls-trusted-ca-file (the CA the server's certificate comes from)`);
        assert.not.ok(health.words.some((w) => w.startsWith('--tls-insecure-skip-verify')), `${where}: the server's certificate is verified`);
        if (listener.clientAuth) {
          assert.ok(health.values.has('tls-cert-file') && health.values.has('tls-key-file'), `${where}: port ${asked.port} requires a client certificate: --tls-cert-file and --tls-key-file`);
        }
        const rpcMs = parseDurationMs(health.values.get('timeout') ?? '5s') ?? Infinity;
        assert.ok(rpcMs < (probe.timeoutSeconds ?? 1) * 1000, `${where}: timeoutSeconds ${probe.timeoutSeconds ?? 1} leaves room for Node to start before the ${rpcMs} ms check`);
      }
    }
    const { container } = v.storage();
    assert.is(probeTarget('storage readiness', container.container.readinessProbe ?? {}).service, 'oxia-readiness', "storage readiness: Oxia's readiness service");
    assert.ok(container.container.startupProbe, 'storage nodes have a startup probe: a slow first start must not be mistaken for a hang');
  });

  t('every file a flag or a probe names is in a Secret or ConfigMap mounted whole, read-only, readable by the user', () => {
    const v = view();
    let files = 0;
    for (const c of v.containers) {
      const named = [
        ...fileFlags(c.flags).map((f) => ({ where: `--${f.flag}`, path: f.path })),
        ...authParamsFiles(c.values.get('auth-provider-params')).map((path) => ({ where: '--auth-provider-params staticKeyFile', path })),
        ...probeCommands(c).flatMap(({ kind, words }) => fileFlags(words).map((f) => ({ where: `${kind} --${f.flag}`, path: f.path }))),
      ];
      for (const { where, path } of named) {
        files++;
        const found = mountedFile(path, c.container, c.template.spec, v.d);
        assert.ok(typeof found !== 'string', `${c.where} ${where}: ${String(found)}`);
      }
    }
    if (v.tls()) assert.ok(files > 0, 'the TLS variant names certificate files');
  });

  t('storage nodes: a headless Service that publishes not-ready pods, data and WAL on the per-pod volume', () => {
    const { spec, headless, headlessSpec, container } = view().storage();
    assert.is(headlessSpec.clusterIP, 'None', `Service ${headless.metadata.name} is headless`);
    assert.is(headlessSpec.publishNotReadyAddresses, true, 'nodes are reachable by name before they are ready');
    assert.ok(selects(headlessSpec.selector, spec.template.metadata.labels), 'the headless Service selects the StatefulSet pods');
    assert.ok(selects(spec.selector.matchLabels, spec.template.metadata.labels), 'the StatefulSet selector matches its pods');
    const claims = new Set((spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name));
    const mounts = (container.container.volumeMounts ?? []).filter((m) => claims.has(m.name));
    for (const flag of ['data-dir', 'wal-dir']) {
      const dir = container.values.get(flag);
      assert.ok(dir && posix.isAbsolute(dir), `--${flag} is an absolute path`);
      assert.ok(mounts.some((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`)), `--${flag}=${dir} is on a volumeClaimTemplate`);
    }
    assert.is(spec.template.spec.securityContext?.runAsNonRoot, true, 'storage nodes do not run as root');
    assert.type(spec.template.spec.securityContext?.fsGroup, 'number', 'an fsGroup makes the volume writable for the non-root user');
    const podSpec = spec.template.spec as { automountServiceAccountToken?: boolean };
    assert.is(podSpec.automountServiceAccountToken, false, 'storage pods never call the Kubernetes API: no token');
  });

  t('a read-only root file system comes with a writable /tmp (tsx caches compiled sources there)', () => {
    for (const c of view().containers) {
      if (c.container.securityContext?.readOnlyRootFilesystem !== true) continue;
      const tmp = (c.container.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
      assert.ok(tmp, `${c.where}: /tmp is mounted`);
      assert.ok(c.template.spec.volumes?.some((vol) => vol.name === tmp?.name && vol.emptyDir !== undefined), `${c.where}: /tmp is an emptyDir`);
    }
  });

  t('TLS variant: every port on TLS, mutual TLS on the internal ports and on the calls to them, tokens on the public port', () => {
    const v = view();
    if (!v.tls()) return;
    for (const c of v.containers) {
      // Every listener the role has, its address given or not (the coordinator's admin listener binds loopback by default).
      for (const [name, prefix] of Object.entries(LISTENER_TLS_PREFIX[c.subcommand] ?? {})) {
        assert.ok(c.values.has(`${prefix}tls-cert-file`), `${c.where}: the ${name} listener is on TLS (--${prefix}tls-cert-file)`);
      }
      for (const [port, listener] of listenersOf(c)) {
        if (listener.name === 'internal') assert.ok(listener.clientAuth, `${c.where}: the internal port ${port} requires a client certificate (mutual TLS)`);
      }
      assert.ok(c.values.has('metrics-tls-cert-file'), `${c.where}: /metrics over HTTPS`);
      assert.is(c.template.metadata.annotations?.['prometheus.io/scheme'], 'https', `${c.where}: the scrape annotation says https`);
      for (const flag of ['peer-tls-trusted-ca-file', 'peer-tls-cert-file', 'peer-tls-key-file']) {
        assert.ok(c.values.has(flag), `${c.where}: --${flag} (its calls to the servers' internal ports)`);
      }
      assert.not.ok(flagIsOn(c.flags, 'peer-tls-insecure-skip-verify'), `${c.where}: servers' certificates are verified`);
    }
    const storage = v.storage().container;
    assert.is(storage.values.get('auth-provider-name'), 'oidc', `${storage.where}: --auth-provider-name=oidc`);
    const params = JSON.parse(storage.values.get('auth-provider-params') ?? 'null') as { issuers?: Record<string, unknown>; allowedIssueURLs?: string } | null;
    const issuers = [...Object.keys(params?.issuers ?? {}), ...(params?.allowedIssueURLs ?? '').split(',').filter((u) => u !== '')];
    assert.ok(issuers.length > 0, `${storage.where}: --auth-provider-params names at least one issuer`);
    for (const issuer of issuers) assert.match(issuer, /^https:\/\/[^/]/, `${storage.where}: issuer ${issuer} is an https URL`);
  });

  t('an authorization policy, when given, is a ConfigMap key the server parses', () => {
    const v = view();
    for (const c of v.containers) {
      const path = c.values.get('authorization-policy-file');
      if (path === undefined) continue;
      const found = mountedFile(path, c.container, c.template.spec, v.d);
      if (typeof found === 'string') throw new Error(`${c.where}: ${found}`);
      const name = found.volume.configMap?.name;
      assert.ok(name, `${c.where}: the policy comes from a ConfigMap (edited in place, re-read by the server)`);
      const text = theObject(v.d, 'ConfigMap', name ?? '').data?.[found.key] ?? '';
      const policy = parsePolicyDocument(text);
      assert.ok(policy.grants.length > 0, `${c.where}: ConfigMap ${name} grants something`);
    }
  });

  t('the cluster config lists exactly the StatefulSet pods, by their stable DNS names', () => {
    const v = view();
    const { statefulSet, spec, headless, container } = v.storage();
    const { config } = v.clusterConfig();
    const replicas = spec.replicas ?? 1;
    const publicPort = portOf(container.values.get('public-addr'));
    const internalPort = portOf(container.values.get('internal-addr'));
    const expected = Array.from({ length: replicas }, (_, i) => {
      const pod = `${statefulSet.metadata.name}-${i}`;
      const host = `${pod}.${headless.metadata.name}.${v.namespace}.svc.cluster.local`;
      // The pod name is also the node's name under Kubernetes discovery: the same identity either way.
      return { name: pod, public: `${host}:${publicPort}`, internal: `${host}:${internalPort}` };
    });
    assert.equal(config.servers, expected);
    assert.ok(config.namespaces.length > 0, 'at least one namespace');
    for (const ns of config.namespaces) {
      assert.ok(ns.replicationFactor <= replicas, `namespace ${ns.name}: replicationFactor ${ns.replicationFactor} fits in ${replicas} replicas`);
    }
  });

  t('Kubernetes discovery, when on, finds the StatefulSet pods under the headless Service', () => {
    const v = view();
    if (!v.kubernetesDiscovery()) return;
    const { values } = v.coordinator().container;
    const { spec, headless } = v.storage();
    assert.is(values.get('k8s-discovery-service'), headless.metadata.name, '--k8s-discovery-service is the headless Service');
    assert.is(values.get('k8s-namespace'), v.namespace, 'pods are looked for in this namespace');
    const selector = Object.fromEntries(
      (values.get('k8s-discovery-selector') ?? '').split(',').map((term) => {
        const [k = '', val = ''] = term.split('=');
        return [k.trim(), val.trim()];
      }),
    );
    assert.ok(selects(selector, spec.template.metadata.labels), `--k8s-discovery-selector selects the storage pods (${JSON.stringify(selector)})`);
    assert.not.ok(selects(selector, v.coordinator().spec.template.metadata.labels), '--k8s-discovery-selector does not select the coordinator');
  });

  t('clients may address the nodes through the client Service', () => {
    const v = view();
    const { config } = v.clusterConfig();
    const { spec } = v.storage();
    const clientServices = v.services.filter(({ spec: s }) => s.clusterIP !== 'None' && selects(s.selector, spec.template.metadata.labels));
    assert.ok(clientServices.length > 0, 'a ClusterIP Service in front of the storage nodes');
    for (const { object, spec: s } of clientServices) {
      const port = s.ports.find((p) => p.targetPort === 'public');
      assert.ok(port, `Service ${object.metadata.name} exposes the public port`);
      const authority = `${object.metadata.name}.${v.namespace}.svc.cluster.local:${port?.port}`;
      assert.ok(config.allowExtraAuthorities.includes(authority), `allowExtraAuthorities lists ${authority}`);
    }
  });

  t("a voluntary disruption never takes a shard's majority; replicas never share a machine", () => {
    const v = view();
    const { spec, container } = v.storage();
    const { config } = v.clusterConfig();
    const pdbs = objectsOfKind(v.d, 'PodDisruptionBudget').filter((p) =>
      selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, spec.template.metadata.labels),
    );
    assert.is(pdbs.length, 1, 'one PodDisruptionBudget covers the storage pods');
    const maxUnavailable = (pdbs[0]?.spec as { maxUnavailable?: number }).maxUnavailable;
    const smallestFactor = Math.min(...config.namespaces.map((n) => n.replicationFactor));
    assert.type(maxUnavailable, 'number', 'maxUnavailable as a number');
    assert.ok((maxUnavailable ?? 0) >= 1, 'drains can proceed');
    assert.ok((maxUnavailable ?? Infinity) <= Math.floor((smallestFactor - 1) / 2), `maxUnavailable ${maxUnavailable} leaves a majority of ${smallestFactor} replicas`);
    const terms = spec.template.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    assert.ok(
      terms.some((term) => term.topologyKey === 'kubernetes.io/hostname' && selects(term.labelSelector?.matchLabels, spec.template.metadata.labels)),
      `${container.where}: required anti-affinity on kubernetes.io/hostname against its own pods`,
    );
  });

  t('graceful shutdown fits in the termination grace period', () => {
    for (const c of view().containers) {
      const budgetMs = gracefulStopBudgetMs(c.subcommand, c.values);
      const graceS = c.template.spec.terminationGracePeriodSeconds ?? 30;
      assert.ok(graceS * 1000 >= budgetMs, `${c.where}: terminationGracePeriodSeconds ${graceS} s covers the ${budgetMs} ms the process may take to stop`);
    }
  });

  t('resources: requests for CPU and memory, a memory limit, and a Node heap inside it', () => {
    for (const c of view().containers) {
      const { requests, limits } = c.container.resources ?? {};
      assert.ok(requests?.cpu !== undefined && requests.memory !== undefined, `${c.where}: requests cpu and memory`);
      assert.ok(limits?.memory !== undefined, `${c.where}: a memory limit`);
      const limitMiB = memoryMiB(limits?.memory ?? 0);
      assert.ok(limitMiB >= memoryMiB(requests?.memory ?? 0), `${c.where}: limit >= request`);
      const nodeOptions = c.container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
      const heap = /--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1];
      assert.ok(heap, `${c.where}: NODE_OPTIONS bounds the heap (V8 sizes it from the machine, not the container)`);
      assert.ok(Number(heap) <= limitMiB * 0.8, `${c.where}: heap ${heap} MiB leaves room under the ${limitMiB} MiB limit`);
    }
  });

  t('the coordinators: two replicas, one acting by the Lease, the other standing by; status in its own ConfigMap in this namespace', () => {
    const v = view();
    const { object, spec, container } = v.coordinator();
    assert.ok((spec.replicas ?? 1) >= 2, 'a standby beside the active coordinator');
    // Recreate would stop both before starting any; a rolling update keeps one to take the lease over.
    assert.is(spec.strategy?.type, 'RollingUpdate');
    assert.is(spec.strategy?.rollingUpdate?.maxUnavailable, 0, 'a new coordinator is up (standing by) before an old one stops');
    const preferred = spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    assert.ok(
      preferred.some((p) => p.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' && selects(p.podAffinityTerm.labelSelector?.matchLabels, spec.template.metadata.labels)),
      'the coordinators prefer different machines',
    );
    const pdbs = objectsOfKind(v.d, 'PodDisruptionBudget').filter((p) =>
      selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, spec.template.metadata.labels),
    );
    assert.is(pdbs.length, 1, `one PodDisruptionBudget covers the pods of ${object.metadata.name}`);
    assert.ok(((pdbs[0]?.spec as { maxUnavailable?: number }).maxUnavailable ?? 0) < (spec.replicas ?? 1), 'a drain leaves a coordinator running');
    assert.is(container.values.get('metadata'), 'configmap', '--metadata=configmap');
    assert.is(container.values.get('k8s-namespace'), v.namespace, '--k8s-namespace');
    const statusName = container.values.get('k8s-configmap-name');
    assert.ok(statusName, '--k8s-configmap-name');
    // kubectl apply would reset a status or a lease the manifests declared (or prune it): the coordinator creates them.
    assert.not.ok(v.d.objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === statusName), 'the status ConfigMap is not a manifest');
    assert.not.ok(v.d.objects.some((o) => o.kind === 'ConfigMap' && o.data?.[STATUS_KEY] !== undefined), `no manifest carries a "${STATUS_KEY}" key`);
    assert.not.ok(v.d.objects.some((o) => o.kind === 'Lease'), 'the Lease is not a manifest');
    assert.is.not(statusName, v.clusterConfig().configMap.metadata.name, 'status and config are different ConfigMaps');
  });

  t('the admin API: every coordinator serves it on 6651, a ClusterIP Service exposes it, on TLS only to client certificates', () => {
    const v = view();
    const { spec, container } = v.coordinator();
    const address = container.values.get('public-addr');
    assert.is(portOf(address), OXIA_ADMIN_PORT, `${container.where}: --public-addr on Oxia's admin port ${OXIA_ADMIN_PORT}`);
    assert.ok((container.container.ports ?? []).some((p) => p.name === ADMIN_PORT_NAME), `${container.where}: a container port named ${ADMIN_PORT_NAME}`);
    const services = v.services.filter(({ spec: s }) => s.clusterIP !== 'None' && selects(s.selector, spec.template.metadata.labels));
    assert.is(services.length, 1, 'one ClusterIP Service in front of the coordinators');
    const port = services[0]?.spec.ports.find((p) => p.targetPort === ADMIN_PORT_NAME);
    assert.is(port?.port, OXIA_ADMIN_PORT, `Service ${services[0]?.object.metadata.name} exposes the admin port as ${OXIA_ADMIN_PORT}`);
    if (!v.tls()) return;
    assert.ok(container.values.has('public-tls-cert-file'), `${container.where}: the admin listener is on TLS`);
    assert.ok(flagIsOn(container.flags, 'public-tls-client-auth'), `${container.where}: the admin listener requires a client certificate (--public-tls-client-auth)`);
    const ca = container.values.get('public-tls-trusted-ca-file');
    assert.ok(ca, `${container.where}: --public-tls-trusted-ca-file (the CA client certificates must come from)`);
  });

  t("RBAC grants every API call the coordinator's Kubernetes adapters make", () => {
    const v = view();
    const { rules } = v.coordinatorRole();
    const needs = v.neededAccess();
    assert.ok(needs.length > 0, 'the deployment uses Kubernetes adapters');
    for (const need of needs) {
      assert.ok(rules.some((r) => grants(r, need)), `the Role grants ${need.verb} ${need.resource}${need.name ? ` ${need.name}` : ''} (${need.why})`);
    }
  });

  t('RBAC grants nothing more: no wildcard, no verb or object nothing uses', () => {
    const v = view();
    const { rules } = v.coordinatorRole();
    const needs = v.neededAccess();
    for (const rule of rules) {
      for (const field of [rule.apiGroups ?? [], rule.resources ?? [], rule.verbs, rule.resourceNames ?? []]) {
        assert.not.ok(field.includes('*'), `no wildcard in ${JSON.stringify(rule)}`);
      }
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) {
          const uses = needs.filter((n) => n.resource === resource && n.verb === verb && (rule.apiGroups ?? []).includes(n.group));
          assert.ok(uses.length > 0, `the Role grants ${verb} ${resource}, which no adapter in use calls`);
          const names = rule.resourceNames ?? [];
          for (const name of names) assert.ok(uses.some((n) => n.name === name), `the Role grants ${verb} on ${resource} ${name}, which nothing addresses`);
          // create cannot be limited by name (the object does not exist yet); everything else can be.
          if (names.length === 0 && verb !== 'create') {
            assert.ok(uses.some((n) => n.name === undefined), `the Role grants ${verb} on every ${resource}; limit it with resourceNames to ${uses.map((n) => n.name).join(', ')}`);
          }
        }
      }
    }
  });

  t('a list/watch limited to a name works only with a metadata.name field selector: the adapter sends one', () => {
    const v = view();
    const { rules } = v.coordinatorRole();
    const limited = rules.filter((r) => (r.resourceNames ?? []).length > 0 && r.verbs.some((verb) => verb === 'list' || verb === 'watch'));
    for (const need of v.neededAccess().filter((n) => n.verb === 'list' && limited.some((r) => grants(r, n)))) {
      const file = need.why.split(':')[0] ?? '';
      assert.match(readRepoFile(file), /fieldSelector\s*=\s*`metadata\.name=\$\{/, `${file} lists with fieldSelector metadata.name=<name>`);
    }
  });

  t('every container uses an image the kustomization maps (the one deploy/docker builds)', () => {
    for (const c of view().containers) assert.is(c.container.image, 'oxia-ts:0.1.0', `${c.where}: the image`);
  });

  const variant = checked.kustomization;
  if (variant) {
    t('kubectl kustomize renders the same objects (when kubectl is installed)', () => {
      assertKustomizeAgrees(variant, view().d);
    });
  }

  return t;
}

/**
 * `kubectl kustomize` of the variant (its extra components added to the components the
 * kustomization lists, as a user would write them, in a copy outside the repository) equals
 * our rendering: the tests check ours, and it must be what kustomize produces.
 */
function assertKustomizeAgrees(variant: Variant, ours: Deployment): void {
  const dir = join(repoRoot, variant.dir);
  let target = dir;
  let copy: string | undefined;
  if (variant.extraComponents.length > 0) {
    const at = mkdtempSync(join(tmpdir(), 'oxia-kustomize-'));
    copy = at;
    const k = yamlDocuments(`${variant.dir}/kustomization.yaml`)[0]?.content as Kustomization;
    // kustomize takes only relative paths to other directories.
    const fromCopy = (absolute: string): string => relative(at, absolute);
    const rewritten = {
      ...k,
      resources: (k.resources ?? []).map((r) => fromCopy(resolve(dir, r))),
      components: [...(k.components ?? []).map((c) => resolve(dir, c)), ...variant.extraComponents.map((c) => join(repoRoot, c))].map(fromCopy),
    };
    writeFileSync(join(at, 'kustomization.yaml'), stringify(rewritten));
    target = at;
  }
  try {
    const r = spawnSync('kubectl', ['kustomize', target], { encoding: 'utf8', timeout: 60_000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log(`  (kubectl not installed: ${variant.name} not rendered by kustomize)`);
      return;
    }
    assert.is(r.status, 0, r.stderr);
    const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const rendered = new Map(
      r.stdout
        .split(/^---$/m)
        .filter((doc) => doc.trim() !== '')
        .map((doc) => parse(doc) as K8sObject)
        .map((o) => [key(o), o]),
    );
    assert.equal([...rendered.keys()].sort(), ours.objects.map(key).sort(), 'the same objects');
    for (const o of ours.objects) assert.equal(o, rendered.get(key(o)), `${key(o)} as kustomize renders it`);
  } finally {
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}

for (const variant of KUSTOMIZATIONS) {
  kustomizationChecks({ name: variant.name, load: () => loadKustomization(variant.dir, variant.extraComponents), kustomization: variant }).run();
}
// The chart renders equal to a kustomization are compared in helm-chart.test.ts; these are the others.
for (const variant of HELM_VARIANTS) kustomizationChecks({ name: variant.name, load: variant.render, kustomization: undefined }).run();

// ---- the TLS variant's Secrets, as the cert-manager example makes them -------------------------

interface CertificateSpec {
  readonly secretName: string;
  readonly isCA?: boolean;
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly usages?: readonly string[];
  readonly issuerRef: { readonly name: string; readonly kind?: string };
}

/** The keys cert-manager writes into a Certificate's Secret (ca.crt with a CA issuer). */
const CERT_MANAGER_KEYS = ['tls.crt', 'tls.key', 'ca.crt'];
const TLS_README = `${kubernetesDir}/README.md`;

/** A certificate name matches a host: equal, or a wildcard standing for exactly one label. */
function nameCovers(name: string, host: string): boolean {
  if (name === host) return true;
  return name.startsWith('*.') && host.slice(host.indexOf('.') + 1) === name.slice(2) && host.indexOf('.') > 0;
}

/** `kubectl ... create secret generic NAME --from-file=KEY=...` commands of a README (continued lines joined): name -> keys. */
function secretsCreatedIn(readme: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const command of readme.replace(/\\\n\s*/g, ' ').split('\n')) {
    const m = /create secret (?:generic|tls) (\S+)(.*)$/.exec(command);
    if (!m?.[1]) continue;
    const keys = [...(m[2] ?? '').matchAll(/--from-file=([^=\s]+)=/g)].map((k) => k[1] ?? '');
    out.set(m[1], new Set([...(out.get(m[1]) ?? []), ...keys]));
  }
  return out;
}

const certs = suite(CERT_MANAGER_DIR);
let certCache: { issuers: K8sObject[]; certificates: { object: K8sObject; spec: CertificateSpec }[]; d: Deployment } | undefined;
const certManager = () => {
  if (certCache) return certCache;
  const d = loadKustomization(CERT_MANAGER_DIR);
  certCache = {
    d,
    issuers: objectsOfKind(d, 'Issuer'),
    certificates: objectsOfKind(d, 'Certificate').map((object) => ({ object, spec: object.spec as CertificateSpec })),
  };
  return certCache;
};
/** The TLS variant with every optional component: every Secret any of them mounts. */
const tlsViews = () => KUSTOMIZATIONS.filter((k) => k.dir === TLS_DIR).map((k) => ({ variant: k, view: new View(loadKustomization(k.dir, k.extraComponents)) }));

/** The Certificate whose Secret holds the file a flag of the container names. */
function certificateBehind(v: View, c: RunningContainer, flag: string): CertificateSpec {
  const path = c.values.get(flag);
  assert.ok(path, `${c.where}: --${flag}`);
  const found = mountedFile(path ?? '', c.container, c.template.spec, v.d);
  if (typeof found === 'string') throw new Error(`${c.where} --${flag}: ${found}`);
  const secretName = found.volume.secret?.secretName;
  const cert = certManager().certificates.find((x) => x.spec.secretName === secretName);
  if (!cert) throw new Error(`${c.where} --${flag}: Secret ${secretName} is made by no Certificate of ${CERT_MANAGER_DIR}`);
  return cert.spec;
}

certs('Issuers and Certificates only, in the namespace of the TLS variant; every certificate signed by the cluster CA', () => {
  const { d, issuers, certificates } = certManager();
  const namespace = tlsViews()[0]?.view.namespace;
  for (const o of d.objects) {
    assert.ok(['Issuer', 'Certificate'].includes(o.kind), `${o.kind} ${o.metadata.name}: only Issuers and Certificates`);
    assert.is(o.metadata.namespace, namespace, `${o.kind} ${o.metadata.name} in ${namespace}`);
  }
  const issuerNamed = (name: string) => issuers.find((i) => i.metadata.name === name);
  const cas = certificates.filter((c) => c.spec.isCA === true);
  assert.is(cas.length, 1, 'one CA certificate');
  for (const { object, spec } of certificates) {
    const issuer = issuerNamed(spec.issuerRef.name);
    assert.ok(issuer && (spec.issuerRef.kind ?? 'Issuer') === 'Issuer', `Certificate ${object.metadata.name}: its issuer ${spec.issuerRef.name} is an Issuer here`);
    if (spec.isCA) continue;
    const ca = (issuer?.spec as { ca?: { secretName?: string } } | undefined)?.ca;
    assert.is(ca?.secretName, cas[0]?.spec.secretName, `Certificate ${object.metadata.name}: signed by the CA issuer of ${cas[0]?.object.metadata.name}`);
  }
});

certs('every Secret the TLS variant mounts is made here, or by hand as the README says, with the keys it mounts', () => {
  const { certificates } = certManager();
  const created = secretsCreatedIn(readRepoFile(TLS_README));
  const mounted = new Map<string, Set<string>>();
  for (const { view: v } of tlsViews()) {
    for (const c of v.containers) {
      for (const vol of c.template.spec.volumes ?? []) {
        if (!vol.secret) continue;
        const keys = mounted.get(vol.secret.secretName) ?? new Set<string>();
        for (const item of vol.secret.items ?? []) keys.add(item.key);
        mounted.set(vol.secret.secretName, keys);
      }
    }
  }
  assert.ok(mounted.size >= 3, `the TLS variant mounts the server, peer and coordinator Secrets (${[...mounted.keys()].join(', ')})`);
  for (const [name, keys] of mounted) {
    const byCertManager = certificates.some((c) => c.spec.secretName === name);
    if (byCertManager) for (const key of keys) assert.ok(CERT_MANAGER_KEYS.includes(key), `Secret ${name}: key ${key} is one cert-manager writes (${CERT_MANAGER_KEYS.join(', ')})`);
    // Without cert-manager, the README's commands make them.
    const byHand = created.get(name);
    assert.ok(byHand, `${TLS_README} shows how to create Secret ${name} (kubectl create secret generic ${name} --from-file=...)`);
    for (const key of keys) assert.ok(byHand?.has(key), `${TLS_README}: the command for ${name} writes key ${key}`);
  }
});

certs('certificates carry the names they are dialled by and the usages they serve', () => {
  const { view: v } = tlsViews()[0]!;
  const storage = v.storage().container;
  const coordinator = v.coordinator().container;
  const { config } = v.clusterConfig();
  const probeNames = (c: RunningContainer) => probeCommands(c).map(({ words }) => flagValues(words).get('tls-server-name')).filter((n): n is string => n !== undefined);
  const covered = (spec: CertificateSpec, host: string, why: string) =>
    assert.ok((spec.dnsNames ?? []).some((n) => nameCovers(n, host)), `${spec.secretName}: a name for ${host} (${why}) among ${(spec.dnsNames ?? []).join(', ')}`);

  for (const flag of ['tls-cert-file', 'internal-tls-cert-file', 'metrics-tls-cert-file']) {
    const spec = certificateBehind(v, storage, flag);
    assert.ok(spec.usages?.includes('server auth'), `${spec.secretName}: usage server auth`);
    for (const s of config.servers) {
      // Peers and the coordinator verify the name they dial unless told another (--peer-tls-server-name).
      for (const [address, caller] of [[s.public, 'clients'], [s.internal, 'peers and coordinator']] as const) {
        const override = [storage, coordinator].map((c) => c.values.get('peer-tls-server-name')).find((n) => n !== undefined);
        covered(spec, caller === 'clients' || override === undefined ? hostOf(address) : override, `${caller} dial ${address}`);
      }
    }
    for (const authority of config.allowExtraAuthorities) covered(spec, hostOf(authority), 'clients dial the client Service');
    for (const name of probeNames(storage)) covered(spec, name, 'the probes ask for it');
  }
  const own = certificateBehind(v, coordinator, 'tls-cert-file');
  assert.ok(own.usages?.includes('server auth'), `${own.secretName}: usage server auth`);
  for (const name of probeNames(coordinator)) covered(own, name, "the coordinator's probes ask for it");
  const admin = certificateBehind(v, coordinator, 'public-tls-cert-file');
  const adminServices = v.services.filter(({ spec: s }) => s.clusterIP !== 'None' && selects(s.selector, v.coordinator().spec.template.metadata.labels));
  assert.ok(adminServices.length > 0, 'a Service in front of the coordinators');
  for (const { object } of adminServices) {
    covered(admin, `${object.metadata.name}.${v.namespace}.svc.cluster.local`, 'admin clients dial the coordinator Service');
  }
  // Operators' client certificate for the admin API, from the CA the admin listener trusts.
  const adminClients = certManager().certificates.filter((c) => c.spec.usages?.includes('client auth') && !c.spec.usages.includes('server auth') && c.spec.commonName?.includes('admin'));
  assert.is(adminClients.length, 1, 'cert-manager/ makes one client certificate for the operators of the admin API');
  for (const c of [storage, coordinator]) {
    const peer = certificateBehind(v, c, 'peer-tls-cert-file');
    assert.ok(peer.usages?.includes('client auth'), `${c.where}: ${peer.secretName} is a client certificate (usage client auth)`);
  }
});

certs('the TLS kustomization names, listed or commented out, exactly the components under tls/components', () => {
  const text = readRepoFile(`${TLS_DIR}/kustomization.yaml`);
  const named = [...text.matchAll(/^\s*#?\s*-\s*(components\/[a-z0-9-]+)\s*$/gm)].map((m) => posix.normalize(`${TLS_DIR}/${m[1]}`)).sort();
  const present = readdirSync(join(repoRoot, TLS_DIR, 'components')).map((c) => `${TLS_DIR}/components/${c}`).sort();
  assert.equal(named, present);
  const tested = new Set(KUSTOMIZATIONS.filter((k) => k.dir === TLS_DIR).flatMap((k) => [...k.extraComponents, ...(loadKustomizationComponents(TLS_DIR))]));
  for (const c of present) assert.ok(tested.has(c), `${c} is rendered by a variant the tests check`);
});

certs('kubectl kustomize renders the same objects (when kubectl is installed)', () => {
  assertKustomizeAgrees({ dir: CERT_MANAGER_DIR, extraComponents: [], name: CERT_MANAGER_DIR }, certManager().d);
});

/** The components a kustomization lists (uncommented). */
function loadKustomizationComponents(dir: string): string[] {
  const k = yamlDocuments(`${dir}/kustomization.yaml`)[0]?.content as Kustomization;
  return (k.components ?? []).map((c) => posix.normalize(`${dir}/${c}`));
}

certs.run();
