// Readers for the files under deploy/: YAML documents, systemd units and their environment
// files. Each reader is strict where a real consumer (kubectl, systemd) would reject or
// misread the file, so that a malformed file fails a test rather than a deploy.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const deployDir = join(repoRoot, 'deploy');

/** Files under `dir`, recursively, as paths relative to the repository root. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [relative(repoRoot, p)];
  });
}

export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

export interface YamlDocument {
  readonly file: string;
  /** Position of the document in its file (0-based), for messages. */
  readonly index: number;
  readonly content: unknown;
}

/** Every document of a YAML file; throws with the file name on any syntax error or duplicate key. */
export function yamlDocuments(path: string): YamlDocument[] {
  const docs = parseAllDocuments(readRepoFile(path), { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${path}: not a YAML stream`);
  return docs.map((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${path} (document ${index}): ${problems.map((e) => e.message).join('; ')}`);
    return { file: path, index, content: doc.toJS({ maxAliasCount: 100 }) as unknown };
  });
}

/** A systemd unit: sections of key -> values (a key may repeat), continuation lines joined. */
export type SystemdUnit = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export function parseSystemdUnit(path: string): SystemdUnit {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = readRepoFile(path).split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // A trailing backslash continues the value on the next line (comments in between are skipped, as systemd does).
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = (lines[i] ?? '').trim();
      if (next.startsWith('#') || next.startsWith(';')) continue;
      line = `${line.slice(0, -1).trimEnd()} ${next}`;
    }
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header?.[1]) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv?.[1] || kv[2] === undefined || !current) throw new Error(`${path}:${i + 1}: not "Key=value" inside a [Section]: ${line}`);
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2].trim()]);
  }
  return sections;
}

/** The one value of a key (the last, as systemd takes for most settings); undefined when absent. */
export function unitValue(unit: SystemdUnit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** An EnvironmentFile: NAME=value lines. Quotes are not used in these files, so none are interpreted. */
export function parseEnvironmentFile(path: string): Map<string, string> {
  const values = new Map<string, string>();
  readRepoFile(path)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!m?.[1] || m[2] === undefined) throw new Error(`${path}:${i + 1}: not NAME=value: ${line}`);
      if (/["'\\]/.test(m[2])) throw new Error(`${path}:${i + 1}: quotes and backslashes are not used in these files: ${line}`);
      if (values.has(m[1])) throw new Error(`${path}:${i + 1}: ${m[1]} is set twice`);
      values.set(m[1], m[2].trim());
    });
  return values;
}

/**
 * An ExecStart= command line turned into words as systemd does it: split at whitespace, then
 * `${NAME}` inside a word replaced by the variable's value (staying one word), and a word that
 * is exactly `$NAME` replaced by the value split at whitespace (no word at all when it is
 * empty; systemd also removes quotes there, so such values must hold none). Returns the words,
 * the variables referenced, those the environment lacks, and those split into words.
 */
export function expandExecStart(
  line: string,
  env: ReadonlyMap<string, string>,
): { words: string[]; referenced: Set<string>; undefinedVars: Set<string>; splitVars: Set<string> } {
  const referenced = new Set<string>();
  const splitVars = new Set<string>();
  const undefinedVars = new Set<string>();
  const lookup = (name: string): string => {
    referenced.add(name);
    const value = env.get(name);
    if (value === undefined) undefinedVars.add(name);
    return value ?? '';
  };
  const words: string[] = [];
  for (const word of line.trim().split(/\s+/)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole?.[1]) {
      splitVars.add(whole[1]);
      words.push(...lookup(whole[1]).split(/\s+/).filter((w) => w !== ''));
      continue;
    }
    words.push(word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => lookup(name)));
  }
  return { words, referenced, undefinedVars, splitVars };
}
