/**
 * `--config <file>`: the same settings as the flags, in YAML, keyed by flag name
 * without the dashes (e.g. `shards: 4`, `public-addr: 0.0.0.0:6648`). Flags given on
 * the command line win over the file; the file wins over defaults.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from './option-table.js';
import type { RawOptions } from './standalone-config.js';

export function loadConfigFile(path: string): RawOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`--config: cannot read ${path}: ${(error as Error).message}`]);
  }
  let content: unknown;
  try {
    content = parse(text);
  } catch (error) {
    throw new ConfigError([`--config: ${path} is not valid YAML: ${(error as Error).message}`]);
  }
  if (content === null || content === undefined) return {};
  if (typeof content !== 'object' || Array.isArray(content)) {
    throw new ConfigError([`--config: ${path} must hold a mapping of setting names to values`]);
  }
  return content as RawOptions;
}
