/**
 * What every role's settings are made of: a table of option rows (the CLI declares them as
 * flags, config files use the same names), and the one way raw values become a role's
 * validated settings: defaults filled in, every invalid setting reported by its flag.
 */
import type { z } from 'zod';

/** One row per setting: what the CLI declares and what a config file may contain. */
export interface OptionSpec {
  /** The config-file key and, with "--", the flag. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder in help; absent for booleans, which also get a --no- form. */
  readonly valueName?: string;
  readonly help: string;
  /** Default as the user would type it; undefined when there is none. */
  readonly default: string | undefined;
}

/** Invalid settings: every problem, each naming its flag. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * One line per zod issue, each naming its flag; `explain` may word an issue better for a role
 * (return undefined to keep the default wording).
 */
export function configErrorFrom(issues: readonly z.core.$ZodIssue[], explain?: (name: PropertyKey | undefined) => string | undefined): ConfigError {
  return new ConfigError(
    issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown setting(s): ${issue.keys.join(', ')}`;
      const name = issue.path[0];
      const explained = explain?.(name);
      if (explained !== undefined) return explained;
      return name === undefined ? issue.message : `--${String(name)}: ${issue.message}`;
    }),
  );
}

/**
 * Validates raw values (a config file's, then the flags given) against a role's schema, the
 * table's defaults filling what is missing; throws one ConfigError naming every bad flag.
 */
export function parseOptions<T>(
  options: readonly OptionSpec[],
  schema: z.ZodType<T, unknown>,
  raw: Readonly<Record<string, unknown>>,
  explain?: (name: PropertyKey | undefined) => string | undefined,
): T {
  const defaults = Object.fromEntries(options.filter((o) => o.default !== undefined).map((o) => [o.name, o.default]));
  const result = schema.safeParse({ ...defaults, ...raw });
  if (!result.success) throw configErrorFrom(result.error.issues, explain);
  return result.data;
}
