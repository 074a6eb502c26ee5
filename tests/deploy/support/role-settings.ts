// The values the deploy files pass to each oxia-ts role, validated by the role's own settings
// parser (the one its CLI uses), and the time a role may take to stop after SIGTERM.
import { COORDINATOR_OPTIONS, parseCoordinatorConfig } from '../../../src/bootstrap/config/coordinator-config.js';
import type { CoordinatorRawOptions } from '../../../src/bootstrap/config/coordinator-config.js';
import { parseServerConfig, SERVER_OPTIONS } from '../../../src/bootstrap/config/server-config.js';
import type { ServerRawOptions } from '../../../src/bootstrap/config/server-config.js';
import { ConfigError } from '../../../src/bootstrap/config/option-table.js';
import { parseStandaloneConfig, STANDALONE_OPTIONS } from '../../../src/bootstrap/config/standalone-config.js';
import type { RawOptions } from '../../../src/bootstrap/config/standalone-config.js';
import { parseDurationMs } from '../../../src/bootstrap/config/values.js';
import { HARD_STOP_MARGIN_MS } from '../../../src/bootstrap/cli/daemon.js';

/** Flags that are not settings (they point at a settings file). */
const NOT_SETTINGS = new Set(['config']);

/** `--x=v` -> x: v, `--x` -> x: true, `--no-x` -> x: false, as the CLI reads them. */
function rawSettings(words: readonly string[]): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const word of words) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(word);
    if (!m?.[1] || NOT_SETTINGS.has(m[1])) continue;
    if (m[2] !== undefined) raw[m[1]] = m[2];
    else if (m[1].startsWith('no-')) raw[m[1].slice(3)] = false;
    else raw[m[1]] = true;
  }
  return raw;
}

const VALIDATORS: Record<string, (raw: Record<string, unknown>) => unknown> = {
  standalone: (raw) => parseStandaloneConfig(raw as RawOptions),
  server: (raw) => parseServerConfig(raw as ServerRawOptions),
  coordinator: (raw) => parseCoordinatorConfig(raw as CoordinatorRawOptions),
};

/**
 * Problems with the values of `oxia-ts <command> <words>`, as the command would report them;
 * empty when valid. A `--config=<file>` among the words is read with `readConfig` (the file the
 * deploy files ship for that path) and the flags laid over it, as the CLI does.
 */
export function validateFlagValues(where: string, command: string, words: readonly string[], readConfig?: (path: string) => Record<string, unknown>): string[] {
  const validate = VALIDATORS[command];
  if (!validate) return [`${where}: tests/deploy has no settings validator for "oxia-ts ${command}"`];
  const configPath = words.map((w) => /^--config=(.+)$/.exec(w)?.[1]).find((p) => p !== undefined);
  if (configPath !== undefined && !readConfig) return [`${where}: --config=${configPath}: tests/deploy was given no way to read it`];
  try {
    validate({ ...(configPath !== undefined && readConfig ? readConfig(configPath) : {}), ...rawSettings(words) });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${where}: ${p}`);
    throw error;
  }
}

const DEFAULTS: Record<string, ReadonlyMap<string, string | undefined>> = {
  standalone: new Map(STANDALONE_OPTIONS.map((o) => [o.name, o.default])),
  server: new Map(SERVER_OPTIONS.map((o) => [o.name, o.default])),
  coordinator: new Map(COORDINATOR_OPTIONS.map((o) => [o.name, o.default])),
};

/** The longest a role may take between SIGTERM and exiting on its own, for the flags given. */
export function gracefulStopBudgetMs(command: string, values: ReadonlyMap<string, string>): number {
  const text = values.get('shutdown-timeout') ?? DEFAULTS[command]?.get('shutdown-timeout');
  if (text === undefined) throw new Error(`no --shutdown-timeout known for oxia-ts ${command}`);
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new Error(`--shutdown-timeout=${text} is not a duration`);
  return ms + HARD_STOP_MARGIN_MS;
}
