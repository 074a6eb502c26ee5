// The Go-template subset evaluator of tests/deploy (ADR 0027) against outputs Go's text/template
// and Helm's functions give for the same templates (worked out from their documented semantics:
// trim markers, truthiness, the dot inside range, `$` inside an included template, pipes), and
// its refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChartFailure, parseTemplate, TemplateSet, valuesReferences, type RenderRoot, type Value } from './support/go-template.js';

function render(source: string, values: Value = {}, defines = ''): string {
  const helpers = parseTemplate('_helpers.tpl', defines);
  const t = parseTemplate('t.yaml', source);
  const root: RenderRoot = {
    Values: values,
    Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
    Chart: { Name: 'c', Version: '1.2.3', AppVersion: '1' },
  };
  return new TemplateSet([helpers, t]).render(t, root);
}

test('trim markers remove the whitespace, newlines included, on their side only', () => {
  assert.is(render('a  \n  {{- "x" }}  \n  b'), 'ax  \n  b');
  assert.is(render('a  \n  {{ "x" -}}  \n  b'), 'a  \n  xb');
  assert.is(render('a\n{{- /* a comment */ -}}\nb'), 'ab');
  assert.is(render('a {{/* kept around */}} b'), 'a  b');
});

test('truthiness: false, 0, "", null, empty lists and maps are false', () => {
  const values = { f: false, z: 0, e: '', n: null, l: [], m: {}, t: true, one: 1, s: 'x', l1: [1], m1: { a: 1 } };
  const src = Object.keys(values).map((k) => `{{ if .Values.${k} }}1{{ else }}0{{ end }}`).join('');
  assert.is(render(src, values), '00000011111');
});

test('else if, and/or/not, eq/ne of strings', () => {
  const src = '{{ if eq .Values.d "a" }}A{{ else if eq .Values.d "b" }}B{{ else }}C{{ end }}';
  assert.is(render(src, { d: 'a' }), 'A');
  assert.is(render(src, { d: 'b' }), 'B');
  assert.is(render(src, { d: 'z' }), 'C');
  assert.is(render('{{ and .Values.a .Values.b }}|{{ or .Values.a .Values.b }}|{{ not .Values.a }}', { a: 'x', b: '' }), '|x|false');
  assert.throws(() => render('{{ eq .Values.n 1 }}', { n: 1 }), /only strings or booleans/);
});

test('range binds its variables, the dot is the element, $ stays the root', () => {
  assert.is(render('{{ range $i, $v := .Values.l }}{{ $i }}={{ $v.n }}@{{ $.Release.Name }};{{ end }}', { l: [{ n: 'a' }, { n: 'b' }] }), '0=a@rel;1=b@rel;');
  assert.is(render('{{ range $i := until (int .Values.n) }}{{ $i }}{{ end }}', { n: 3 }), '012');
  // Go: inside range the dot is the element, which has no Values.
  assert.throws(() => render('{{ range $v := .Values.l }}{{ .Values.x }}{{ end }}', { l: [1], x: 1 }), /does not exist/);
});

test('include renders a define with the value given as both . and $; variables assigned outside are not seen inside', () => {
  const defines = '{{- define "n" -}}{{ .Release.Name }}-{{ $.Chart.Version }}{{- end }}';
  assert.is(render('{{ include "n" . }}', {}, defines), 'rel-1.2.3');
  assert.throws(() => render('{{ $x := "a" }}{{ include "m" . }}', {}, '{{- define "m" -}}{{ $x }}{{- end }}'), /\$x is not defined/);
});

test('Helm functions: toYaml sorted without the final newline, nindent, indent, quote, default, printf, fail', () => {
  assert.is(render('k:{{ toYaml .Values.m | nindent 2 }}', { m: { b: 1, a: ['x'] } }), 'k:\n  a:\n    - x\n  b: 1');
  assert.is(render('{{ "a\\nb" | indent 2 }}'), '  a\n  b');
  assert.is(render('{{ .Values.s | quote }} {{ 3 | quote }}', { s: 'say "hi"' }), '"say \\"hi\\"" "3"');
  assert.is(render('{{ default "d" .Values.e }} {{ default "d" .Values.s }}', { e: '', s: 'v' }), 'd v');
  assert.is(render('{{ printf "%s.%s:%d" "a" .Release.Namespace 7 }}'), 'a.ns:7');
  assert.throws(() => render('{{ fail "no" }}'), (e: unknown) => e instanceof ChartFailure && /no/.test(e.message));
});

test('refusals: missing values, numbers Helm would print otherwise, constructs outside the subset', () => {
  assert.throws(() => render('{{ .Values.a.b }}', { a: {} }), /\.Values\.a\.b does not exist/);
  assert.throws(() => render('{{ .Values.n }}', { n: 1000000 }), /float64/);
  assert.throws(() => render('{{ .Values.n }}', { n: 1.5 }), /float64/);
  assert.throws(() => render('{{ .Values.m }}', { m: { a: 1 } }), /toYaml/);
  for (const refused of ['{{ with .Values.x }}{{ end }}', '{{ lookup "v1" "Secret" "" "" }}', '{{ range .Values.l }}{{ end }}', '{{ .name }}', '{{ if .Values.x }}', '{{ end }}']) {
    assert.throws(() => parseTemplate('t.yaml', refused), Error, refused);
  }
});

test('valuesReferences finds .Values and $.Values paths with their line', () => {
  assert.equal(valuesReferences('f', 'a: {{ .Values.a.b }}\n{{ $.Values.c | quote }}'), [
    { path: ['a', 'b'], where: 'f:1' },
    { path: ['c'], where: 'f:2' },
  ]);
});

test.run();
