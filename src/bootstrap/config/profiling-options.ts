/**
 * Oxia's profiling flags, which every long-running role takes (Oxia declares them on its
 * root command): `--profile` turns the profiling endpoint on, `--profile-bind-address`
 * says where it listens, loopback by default since a profile exposes the process's memory.
 */
import { z } from 'zod';
import { type OptionSpec, parseOptions } from './option-table.js';
import { boolean, hostPort, type HostPort } from './values.js';

export const PROFILING_OPTIONS: readonly OptionSpec[] = [
  { name: 'profile', help: 'serve CPU profiles and heap snapshots on --profile-bind-address (/debug/pprof/)', default: 'false' },
  { name: 'profile-bind-address', valueName: 'host:port', help: 'address of the profiling endpoint', default: '127.0.0.1:6060' },
];

export interface ProfilingConfig {
  readonly enabled: boolean;
  readonly bind: HostPort;
}

const NAMES = new Set(PROFILING_OPTIONS.map((o) => o.name));

const schema = z
  .object({ profile: boolean, 'profile-bind-address': hostPort })
  .transform((v): ProfilingConfig => ({ enabled: v.profile, bind: v['profile-bind-address'] }));

/** Splits raw settings into the profiling ones and the role's own. */
export function splitProfiling(raw: Readonly<Record<string, unknown>>): { profiling: Record<string, unknown>; role: Record<string, unknown> } {
  const profiling: Record<string, unknown> = {};
  const role: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) (NAMES.has(key) ? profiling : role)[key] = value;
  return { profiling, role };
}

export function parseProfiling(raw: Readonly<Record<string, unknown>>): ProfilingConfig {
  return parseOptions(PROFILING_OPTIONS, schema, raw);
}
