// A small evaluator for the subset of Go templates (text/template plus Helm's functions) that
// deploy/helm/oxia-ts uses, so that the chart can be rendered and checked where `helm` cannot be
// installed. It implements exactly that subset, with Go's semantics where they matter for the
// result (trim markers, truthiness, the dot inside `range`, the piped value as the last
// argument), and refuses everything else with an error naming the template: a construct it does
// not know fails a test instead of being rendered wrongly. The subset (ADR 0027):
//
//   text, {{/* comments */}}, trim markers {{- and -}}
//   {{ pipeline }}, {{ $v := pipeline }}
//   {{ if p }} / {{ else if p }} / {{ else }} / {{ end }}
//   {{ range $v := p }} or {{ range $i, $v := p }} over lists (never maps), {{ end }}
//   {{ define "name" }} ... {{ end }}
//   operands: .Values.a.b, .Release.X, .Chart.X, $.Values..., $v, $v.field, ., $, "strings",
//             integers, true, false, ( pipelines )
//   functions: include, toYaml, nindent, indent, quote, default, int, until, not, and, or, eq and
//              ne (of strings or booleans), fail, printf (%s %d %v)
//
// `.field` is only allowed on the root names Values, Release and Chart: inside `range` the element
// is reached through its variable, so every `.Values` reference is a path from the chart's root
// and can be checked statically against values.yaml. Output values are printed as Go prints them
// for strings, booleans and integers below 1e6 (Helm's numbers are float64: larger ones print in
// exponent form, which is refused here rather than imitated). toYaml writes keys sorted, as
// Helm's does; its exact formatting may differ from Helm's, which is why the tests compare parsed
// YAML, never text.
import { stringify } from 'yaml';

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** The root of a render: what `$` is. */
export interface RenderRoot {
  readonly Values: Value;
  readonly Release: { readonly Name: string; readonly Namespace: string; readonly Service: string };
  readonly Chart: { readonly Name: string; readonly Version: string; readonly AppVersion: string };
}

export const FUNCTIONS = ['include', 'toYaml', 'nindent', 'indent', 'quote', 'default', 'int', 'until', 'not', 'and', 'or', 'eq', 'ne', 'fail', 'printf'] as const;
const ROOT_FIELDS = ['Values', 'Release', 'Chart'];

// ---- lexing: text and actions ------------------------------------------------------------------

interface Piece {
  readonly kind: 'text' | 'action';
  readonly text: string;
  readonly line: number;
}

function pieces(source: string, file: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  let trimNext = false;
  const lineAt = (i: number): number => source.slice(0, i).split('\n').length;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      out.push({ kind: 'text', text, line: lineAt(at) });
      break;
    }
    const close = source.indexOf('}}', open);
    if (close < 0) throw new Error(`${file}:${lineAt(open)}: {{ without }}`);
    let inner = source.slice(open + 2, close);
    if (/^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (/\s-$/.test(inner)) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    out.push({ kind: 'text', text, line: lineAt(at) });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) out.push({ kind: 'action', text: inner, line: lineAt(open) });
    at = close + 2;
  }
  return out;
}

// ---- expressions -------------------------------------------------------------------------------

type Operand =
  | { readonly t: 'field'; readonly root: 'dot' | 'root' | string; readonly path: readonly string[] }
  | { readonly t: 'literal'; readonly value: Value }
  | { readonly t: 'call'; readonly name: string }
  | { readonly t: 'group'; readonly pipeline: Pipeline };

type Command = readonly Operand[];
type Pipeline = readonly Command[];

function tokens(text: string, where: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||:=|,|[^\s()|,"]+)/y;
  let at = 0;
  while (text.slice(at).trim() !== '') {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m?.[1]) throw new Error(`${where}: cannot read "${text}" at "${text.slice(at)}"`);
    out.push(m[1]);
    at = re.lastIndex;
  }
  return out;
}

class ExpressionParser {
  private i = 0;
  constructor(
    private readonly toks: readonly string[],
    private readonly where: string,
  ) {}

  done(): boolean {
    return this.i >= this.toks.length;
  }

  pipeline(): Pipeline {
    const commands: Command[] = [this.command()];
    while (this.toks[this.i] === '|') {
      this.i++;
      commands.push(this.command());
    }
    return commands;
  }

  private command(): Command {
    const ops: Operand[] = [];
    while (this.i < this.toks.length && this.toks[this.i] !== '|' && this.toks[this.i] !== ')') ops.push(this.operand(ops.length === 0));
    if (ops.length === 0) throw new Error(`${this.where}: an empty command`);
    return ops;
  }

  private operand(first: boolean): Operand {
    const tok = this.toks[this.i++] ?? '';
    if (tok === '(') {
      const pipeline = this.pipeline();
      if (this.toks[this.i++] !== ')') throw new Error(`${this.where}: ( without )`);
      return { t: 'group', pipeline };
    }
    if (tok.startsWith('"')) return { t: 'literal', value: JSON.parse(tok) as string };
    if (/^-?\d+$/.test(tok)) return { t: 'literal', value: Number(tok) };
    if (tok === 'true' || tok === 'false') return { t: 'literal', value: tok === 'true' };
    if (tok === '.') return { t: 'field', root: 'dot', path: [] };
    const field = /^(\$[A-Za-z0-9_]*)?((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(tok);
    if (field && (field[1] !== undefined || field[2] !== '')) {
      const path = (field[2] ?? '').split('.').slice(1);
      const root = field[1] === undefined ? 'dot' : field[1] === '$' ? 'root' : field[1];
      if (root === 'dot' && !ROOT_FIELDS.includes(path[0] ?? '')) {
        throw new Error(`${this.where}: .${path.join('.')}: only .Values, .Release and .Chart are read from the dot (use a variable inside range)`);
      }
      return { t: 'field', root, path };
    }
    if (first && (FUNCTIONS as readonly string[]).includes(tok)) return { t: 'call', name: tok };
    throw new Error(`${this.where}: "${tok}" is not in the template subset tests/deploy evaluates (functions: ${FUNCTIONS.join(', ')})`);
  }
}

function parsePipeline(text: string, where: string): Pipeline {
  const p = new ExpressionParser(tokens(text, where), where);
  const pipeline = p.pipeline();
  if (!p.done()) throw new Error(`${where}: unexpected text after the pipeline in "${text}"`);
  return pipeline;
}

// ---- statements --------------------------------------------------------------------------------

type Node =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'output'; readonly pipeline: Pipeline; readonly where: string }
  | { readonly t: 'assign'; readonly name: string; readonly pipeline: Pipeline; readonly where: string }
  | { readonly t: 'if'; readonly branches: readonly { readonly cond: Pipeline; readonly body: readonly Node[] }[]; readonly otherwise: readonly Node[]; readonly where: string }
  | { readonly t: 'range'; readonly index: string | undefined; readonly item: string; readonly pipeline: Pipeline; readonly body: readonly Node[]; readonly where: string };

/** A parsed template file: its body and the templates it defines. */
export interface ParsedTemplate {
  readonly file: string;
  readonly body: readonly Node[];
  readonly defines: ReadonlyMap<string, readonly Node[]>;
}

export function parseTemplate(file: string, source: string): ParsedTemplate {
  const ps = pieces(source, file);
  let i = 0;
  const defines = new Map<string, Node[]>();

  // Parses until an action in `stops`; returns the nodes and the stopping action.
  const block = (stops: readonly string[]): { nodes: Node[]; stop: string | undefined; where: string } => {
    const nodes: Node[] = [];
    while (i < ps.length) {
      const p = ps[i++]!;
      const where = `${file}:${p.line}`;
      if (p.kind === 'text') {
        if (p.text !== '') nodes.push({ t: 'text', text: p.text });
        continue;
      }
      const word = /^(\w+)\b/.exec(p.text)?.[1] ?? '';
      if (word === 'end' || word === 'else') {
        if (!stops.includes(word)) throw new Error(`${where}: unexpected {{ ${p.text} }}`);
        return { nodes, stop: p.text, where };
      }
      if (word === 'if') {
        const branches: { cond: Pipeline; body: Node[] }[] = [];
        let cond = parsePipeline(p.text.slice(2), where);
        let otherwise: Node[] = [];
        for (;;) {
          const inner = block(['end', 'else']);
          branches.push({ cond, body: inner.nodes });
          if (inner.stop === 'end') break;
          if (inner.stop === 'else') {
            const rest = block(['end']);
            otherwise = rest.nodes;
            break;
          }
          const elseIf = /^else\s+if\s+(.*)$/s.exec(inner.stop ?? '');
          if (!elseIf?.[1]) throw new Error(`${inner.where}: {{ ${inner.stop} }} is not in the subset`);
          cond = parsePipeline(elseIf[1], inner.where);
        }
        nodes.push({ t: 'if', branches, otherwise, where });
        continue;
      }
      if (word === 'range') {
        const m = /^range\s+(\$\w+)(?:\s*,\s*(\$\w+))?\s*:=\s*(.*)$/s.exec(p.text);
        if (!m?.[1] || !m[3]) throw new Error(`${where}: range must bind a variable ({{ range $v := ... }})`);
        const inner = block(['end']);
        if (inner.stop !== 'end') throw new Error(`${where}: range without end (else is not in the subset)`);
        nodes.push({ t: 'range', index: m[2] ? m[1] : undefined, item: m[2] ?? m[1], pipeline: parsePipeline(m[3], where), body: inner.nodes, where });
        continue;
      }
      if (word === 'define') {
        const m = /^define\s+"([^"]+)"$/.exec(p.text);
        if (!m?.[1]) throw new Error(`${where}: define "name"`);
        const inner = block(['end']);
        if (inner.stop !== 'end') throw new Error(`${where}: define without end`);
        defines.set(m[1], inner.nodes);
        continue;
      }
      const assign = /^(\$\w+)\s*:=\s*(.*)$/s.exec(p.text);
      if (assign?.[1] && assign[2]) {
        nodes.push({ t: 'assign', name: assign[1], pipeline: parsePipeline(assign[2], where), where });
        continue;
      }
      if (/^[a-z]+\b/.test(p.text) && !(FUNCTIONS as readonly string[]).includes(word)) {
        throw new Error(`${where}: {{ ${p.text} }}: "${word}" is not in the template subset tests/deploy evaluates`);
      }
      nodes.push({ t: 'output', pipeline: parsePipeline(p.text, where), where });
    }
    if (stops.length > 0) throw new Error(`${file}: missing {{ end }}`);
    return { nodes, stop: undefined, where: file };
  };
  const { nodes } = block([]);
  return { file, body: nodes, defines };
}

// ---- evaluation --------------------------------------------------------------------------------

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function printed(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) >= 1e6) throw new Error(`${where}: ${v}: Helm prints float64 values other than small integers in a form the subset does not imitate; quote it in values.yaml`);
    return String(v);
  }
  throw new Error(`${where}: cannot print a ${v === null ? 'null' : typeof v} (${JSON.stringify(v)}); use toYaml`);
}

/** Go's %q for the strings the chart quotes (printable text): JSON's escaping agrees with it there. */
function quoted(v: unknown, where: string): string {
  const s = printed(v, where);
  if (/[^\x20-\x7e]/.test(s)) throw new Error(`${where}: quote of non-printable or non-ASCII text is not in the subset`);
  return JSON.stringify(s);
}

function indented(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

type Scope = Map<string, unknown>;

export class TemplateSet {
  private readonly defines = new Map<string, { nodes: readonly Node[]; file: string }>();

  constructor(readonly templates: readonly ParsedTemplate[]) {
    for (const t of templates) {
      for (const [name, nodes] of t.defines) {
        if (this.defines.has(name)) throw new Error(`${t.file}: "${name}" is defined twice`);
        this.defines.set(name, { nodes, file: t.file });
      }
    }
  }

  /** The output of one template file (its defines produce nothing themselves). */
  render(t: ParsedTemplate, root: RenderRoot): string {
    return this.run(t.body, root, root, [new Map()]);
  }

  private run(nodes: readonly Node[], dot: unknown, root: unknown, scopes: Scope[]): string {
    let out = '';
    const inner = [...scopes, new Map<string, unknown>()];
    for (const node of nodes) {
      switch (node.t) {
        case 'text':
          out += node.text;
          break;
        case 'output':
          out += printed(this.pipeline(node.pipeline, dot, root, inner, node.where), node.where);
          break;
        case 'assign':
          inner.at(-1)!.set(node.name, this.pipeline(node.pipeline, dot, root, inner, node.where));
          break;
        case 'if': {
          const taken = node.branches.find((b) => truthy(this.pipeline(b.cond, dot, root, inner, node.where)));
          out += this.run(taken ? taken.body : node.otherwise, dot, root, inner);
          break;
        }
        case 'range': {
          const list = this.pipeline(node.pipeline, dot, root, inner, node.where);
          if (list === null || list === undefined) break;
          if (!Array.isArray(list)) throw new Error(`${node.where}: range over a ${typeof list}: only lists are in the subset`);
          list.forEach((item, index) => {
            const vars = new Map<string, unknown>([[node.item, item]]);
            if (node.index) vars.set(node.index, index);
            out += this.run(node.body, item, root, [...inner, vars]);
          });
          break;
        }
      }
    }
    return out;
  }

  private lookup(name: string, scopes: readonly Scope[], where: string): unknown {
    for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.has(name)) return scopes[i]!.get(name);
    throw new Error(`${where}: ${name} is not defined`);
  }

  private operand(op: Operand, dot: unknown, root: unknown, scopes: readonly Scope[], where: string): unknown {
    switch (op.t) {
      case 'literal':
        return op.value;
      case 'group':
        return this.pipeline(op.pipeline, dot, root, scopes, where);
      case 'call':
        throw new Error(`${where}: ${op.name} used as a value`);
      case 'field': {
        let v: unknown = op.root === 'dot' ? dot : op.root === 'root' ? root : this.lookup(op.root, scopes, where);
        const walked: string[] = [];
        for (const key of op.path) {
          walked.push(key);
          if (v === null || typeof v !== 'object' || Array.isArray(v) || !(key in v)) {
            // Helm would print "<no value>" (or nothing); a missing value is a chart defect here.
            throw new Error(`${where}: ${op.root === 'dot' ? '' : op.root}.${walked.join('.')} does not exist`);
          }
          v = (v as Record<string, unknown>)[key];
        }
        return v;
      }
    }
  }

  private pipeline(p: Pipeline, dot: unknown, root: unknown, scopes: readonly Scope[], where: string): unknown {
    let piped: { value: unknown } | undefined;
    for (const command of p) {
      const [head, ...rest] = command;
      if (!head) throw new Error(`${where}: empty command`);
      if (head.t !== 'call') {
        if (rest.length > 0 || piped) throw new Error(`${where}: a value cannot take arguments`);
        piped = { value: this.operand(head, dot, root, scopes, where) };
        continue;
      }
      const args = rest.map((a) => this.operand(a, dot, root, scopes, where));
      if (piped) args.push(piped.value);
      piped = { value: this.call(head.name, args, where) };
    }
    return piped?.value;
  }

  private call(name: string, args: unknown[], where: string): unknown {
    const arity = (n: number): void => {
      if (args.length !== n) throw new Error(`${where}: ${name} takes ${n} arguments, got ${args.length}`);
    };
    switch (name) {
      case 'include': {
        arity(2);
        const found = this.defines.get(String(args[0]));
        if (!found) throw new Error(`${where}: include "${String(args[0])}": not defined`);
        // As in Go, `$` inside the template is the value it was given.
        return this.run(found.nodes, args[1], args[1], [new Map()]);
      }
      case 'toYaml':
        arity(1);
        return args[0] === null || args[0] === undefined ? 'null' : stringify(args[0], { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
      case 'nindent':
        arity(2);
        return `\n${indented(Number(args[0]), String(args[1]))}`;
      case 'indent':
        arity(2);
        return indented(Number(args[0]), String(args[1]));
      case 'quote':
        arity(1);
        return quoted(args[0], where);
      case 'default':
        arity(2);
        return truthy(args[1]) ? args[1] : args[0];
      case 'int': {
        arity(1);
        const n = typeof args[0] === 'string' ? Number.parseInt(args[0], 10) : Number(args[0]);
        if (!Number.isFinite(n)) throw new Error(`${where}: int of ${JSON.stringify(args[0])}`);
        return Math.trunc(n);
      }
      case 'until':
        arity(1);
        return Array.from({ length: Math.max(0, Number(args[0])) }, (_, i) => i);
      case 'not':
        arity(1);
        return !truthy(args[0]);
      case 'and':
        if (args.length < 2) throw new Error(`${where}: and takes 2 or more arguments`);
        return args.find((a) => !truthy(a)) ?? args.at(-1);
      case 'or':
        if (args.length < 2) throw new Error(`${where}: or takes 2 or more arguments`);
        return args.find((a) => truthy(a)) ?? args.at(-1);
      case 'eq':
      case 'ne': {
        arity(2);
        // Go compares only values of one basic kind; Helm's numbers are float64 and a literal 1 is an
        // int, which Go refuses to compare. Strings and booleans behave alike in both.
        const kinds = args.map((a) => typeof a);
        if (kinds[0] !== kinds[1] || !['string', 'boolean'].includes(kinds[0] ?? '')) throw new Error(`${where}: ${name} of ${kinds.join(' and ')}: only strings or booleans are compared in the subset`);
        return name === 'eq' ? args[0] === args[1] : args[0] !== args[1];
      }
      case 'fail':
        arity(1);
        throw new ChartFailure(`${where}: ${String(args[0])}`);
      case 'printf': {
        const [format, ...rest] = args;
        let k = 0;
        return String(format).replace(/%[sdv%]/g, (spec) => {
          if (spec === '%%') return '%';
          if (k >= rest.length) throw new Error(`${where}: printf: too few arguments`);
          return printed(rest[k++], where);
        });
      }
      default:
        throw new Error(`${where}: ${name} is not in the subset`);
    }
  }
}

/** A `fail` in the chart: the values were refused on purpose (the tests expect some). */
export class ChartFailure extends Error {}

/** Every `.Values.a.b` (also `$.Values.a.b`) path the templates name, with where. */
export function valuesReferences(file: string, source: string): { path: string[]; where: string }[] {
  const out: { path: string[]; where: string }[] = [];
  source.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) out.push({ path: (m[1] ?? '').split('.').slice(1), where: `${file}:${i + 1}` });
  });
  return out;
}
