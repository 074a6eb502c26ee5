// What the real `oxia-ts` binary accepts, read from its --help (a child process per command,
// cached): the deploy files are checked against the CLI as shipped, not against a copy of its
// flag list that could drift.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../../../src/bootstrap/cli/oxia-ts.mjs', import.meta.url));

/** How a flag takes its value: `--x <v>` requires one, `--x [v]` may have one, `--x` has none. */
export type FlagArity = 'required' | 'optional' | 'none';

export interface CommandHelp {
  readonly command: string;
  /** By name without the dashes (e.g. "public-addr", "no-wal-sync-data"). */
  readonly flags: ReadonlyMap<string, FlagArity>;
}

function help(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`oxia-ts ${args.join(' ')} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The lines of one section of commander's help ("Options:", "Commands:"). */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && !line.startsWith(' ')) break;
    out.push(line);
  }
  return out;
}

let subcommands: readonly string[] | undefined;

/** The subcommands `oxia-ts --help` lists. */
export function cliSubcommands(): readonly string[] {
  subcommands ??= section(help([]), 'Commands:')
    .map((l) => /^ {2}([a-z][a-z0-9-]*)\b/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'help');
  return subcommands;
}

const helps = new Map<string, CommandHelp>();

/** The flags of `oxia-ts <command> --help`. Throws when the command does not exist. */
export function commandHelp(command: string): CommandHelp {
  const cached = helps.get(command);
  if (cached) return cached;
  if (!cliSubcommands().includes(command)) {
    throw new Error(`"oxia-ts ${command}" does not exist (oxia-ts --help lists: ${cliSubcommands().join(', ')})`);
  }
  const flags = new Map<string, FlagArity>();
  for (const line of section(help([command]), 'Options:')) {
    // Option lines start at two spaces; wrapped descriptions are indented much deeper.
    const m = /^ {2}(?:-[A-Za-z0-9], )?--([a-z0-9][a-z0-9-]*)(?: (<[^>]*>|\[[^\]]*\]))?/.exec(line);
    if (!m?.[1]) continue;
    flags.set(m[1], m[2] === undefined ? 'none' : m[2].startsWith('<') ? 'required' : 'optional');
  }
  const result = { command, flags };
  helps.set(command, result);
  return result;
}

export interface ParsedFlag {
  readonly name: string;
  readonly value: string | undefined;
}

/**
 * Checks command-line words (after the subcommand) against the command's help: every word
 * is `--name` or `--name=value` (the one form the deploy files use, so that a value can never
 * be mistaken for a flag), the flag exists, and it has a value exactly when it takes one.
 * Returns the problems, each naming `where`.
 */
export function flagProblems(where: string, command: string, words: readonly string[]): string[] {
  const { flags } = commandHelp(command);
  const problems: string[] = [];
  for (const word of words) {
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(word);
    if (!m?.[1]) {
      problems.push(`${where}: "${word}" is not --flag or --flag=value`);
      continue;
    }
    const arity = flags.get(m[1]);
    if (arity === undefined) problems.push(`${where}: oxia-ts ${command} has no flag --${m[1]}`);
    else if (arity === 'required' && m[2] === undefined) problems.push(`${where}: --${m[1]} needs =value`);
    else if (arity === 'none' && m[2] !== undefined) problems.push(`${where}: --${m[1]} takes no value`);
  }
  return problems;
}

/** `--name=value` words as a map (the last occurrence wins, as in the CLI). */
export function flagValues(words: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const word of words) {
    const m = /^--([a-z0-9][a-z0-9-]*)=(.*)$/s.exec(word);
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], m[2]);
  }
  return values;
}

/** Fails with every problem listed (an empty-array comparison would show only a diff). */
export function assertNoProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`\n  ${problems.join('\n  ')}`);
}
