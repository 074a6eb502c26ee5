// deploy/helm/oxia-ts read and rendered by the Go-template subset of go-template.ts, as `helm
// template` would render it: values.yaml merged with the values given (maps merged key by key,
// anything else replaced, as Helm merges), every template but the `_` partials rendered, the
// output split into YAML documents. The result has the shape of a kustomize rendering, so that the
// checks of deploy/kubernetes apply to it unchanged.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseTemplate, TemplateSet, valuesReferences, type ParsedTemplate, type RenderRoot, type Value } from './go-template.js';
import { readRepoFile, repoRoot, yamlDocuments } from './deploy-files.js';
import type { Deployment, K8sObject } from './kubernetes-objects.js';

export const CHART_DIR = 'deploy/helm/oxia-ts';
export const TEMPLATES_DIR = `${CHART_DIR}/templates`;

/** Labels Helm charts put on their objects' metadata and deploy/kubernetes does not carry. */
export const HELM_ONLY_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'helm.sh/chart'] as const;

export interface Chart {
  readonly meta: { readonly apiVersion: string; readonly name: string; readonly version: string; readonly appVersion?: string };
  readonly values: Value;
  /** Template files by path relative to the repository root, with their source. */
  readonly sources: ReadonlyMap<string, string>;
  readonly templates: readonly ParsedTemplate[];
  readonly set: TemplateSet;
}

let cached: Chart | undefined;

export function loadChart(): Chart {
  if (cached) return cached;
  const meta = yamlDocuments(`${CHART_DIR}/Chart.yaml`)[0]?.content as Chart['meta'];
  const values = (yamlDocuments(`${CHART_DIR}/values.yaml`)[0]?.content ?? {}) as Value;
  const sources = new Map<string, string>();
  for (const name of readdirSync(join(repoRoot, TEMPLATES_DIR)).sort()) {
    if (!/\.(ya?ml|tpl)$/.test(name)) throw new Error(`${TEMPLATES_DIR}/${name}: only .yaml and .tpl files are templates here`);
    sources.set(`${TEMPLATES_DIR}/${name}`, readRepoFile(`${TEMPLATES_DIR}/${name}`));
  }
  const templates = [...sources].map(([file, source]) => parseTemplate(file, source));
  cached = { meta, values, sources, templates, set: new TemplateSet(templates) };
  return cached;
}

function isMap(v: unknown): v is Record<string, Value> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Helm's merge of user values over the chart's: maps key by key, lists and scalars replaced. */
export function mergeValues(base: Value, over: Value): Value {
  if (!isMap(base) || !isMap(over)) return structuredClone(over);
  const out: Record<string, Value> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeValues(out[k] ?? null, v) : structuredClone(v);
  return out;
}

export interface Release {
  readonly name: string;
  readonly namespace: string;
}

/** A release as deploy/kubernetes is written: named oxia, in the namespace oxia. */
export const KUSTOMIZE_RELEASE: Release = { name: 'oxia', namespace: 'oxia' };

/** The objects `helm template <release.name> deploy/helm/oxia-ts -n <namespace>` with these values would produce. */
export function renderChart(overrides: Value = {}, release: Release = KUSTOMIZE_RELEASE): Deployment & { readonly values: Value } {
  const chart = loadChart();
  const values = mergeValues(chart.values, overrides);
  const root: RenderRoot = {
    Values: values,
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm' },
    Chart: { Name: chart.meta.name, Version: chart.meta.version, AppVersion: chart.meta.appVersion ?? '' },
  };
  const objects: K8sObject[] = [];
  const sourceOf = new Map<K8sObject, string>();
  for (const t of chart.templates) {
    if (t.file.split('/').pop()?.startsWith('_')) continue;
    const text = chart.set.render(t, root);
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
      const problems = [...doc.errors, ...doc.warnings];
      if (problems.length > 0) throw new Error(`${t.file} (document ${i}) renders invalid YAML: ${problems.map((e) => e.message).join('; ')}\n${text}`);
      const content = doc.toJS() as K8sObject | null;
      if (content === null) continue;
      objects.push(content);
      sourceOf.set(content, t.file);
    }
  }
  return { dir: CHART_DIR, namespace: release.namespace, objects, sourceOf, values };
}

/** Every `.Values` path the templates name, with where. */
export function chartValuesReferences(): { path: string[]; where: string }[] {
  return [...loadChart().sources].flatMap(([file, source]) => valuesReferences(file, source));
}
