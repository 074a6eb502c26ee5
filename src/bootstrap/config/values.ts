/**
 * Zod schemas for the kinds of values flags and config files carry. Flags arrive as
 * text, YAML files as numbers and booleans too; each schema accepts both and says
 * in its message what it wanted and what it got, so the CLI can print
 * "--shards: must be an integer from 1 to 1024, got "abc"".
 */
import { z } from 'zod';
import { parseGoDurationMs } from '../../domain/cluster/go-duration.js';

const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** An integer in [min, max], from a number or decimal text. */
export function integer(min: number, max: number): z.ZodType<number, unknown> {
  return z.unknown().transform((value, ctx) => {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}, got ${shown(value)}` });
      return z.NEVER;
    }
    return n;
  });
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export const boolean: z.ZodType<boolean, unknown> = z.unknown().transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const word = String(value).trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  ctx.addIssue({ code: 'custom', message: `must be true or false, got ${shown(value)}` });
  return z.NEVER;
});


/** Parses Go-style durations as Oxia's flags take them: 500ms, 30s, 5m, 1h, 1h30m; 0 alone needs no unit. */
export function parseDurationMs(text: string): number | undefined {
  const ms = parseGoDurationMs(text.trim());
  return ms === undefined ? undefined : Math.round(ms);
}

/** A duration in milliseconds, from text such as "30s" (YAML numbers must carry a unit too). */
export function duration(minMs: number): z.ZodType<number, unknown> {
  return z.unknown().transform((value, ctx) => {
    const ms = typeof value === 'string' ? parseDurationMs(value) : value === 0 ? 0 : undefined;
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as 500ms, 30s, 5m or 1h, got ${shown(value)}` });
      return z.NEVER;
    }
    if (ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${minMs} ms, got ${shown(value)}` });
      return z.NEVER;
    }
    return ms;
  });
}

export function oneOf<const T extends readonly string[]>(choices: T): z.ZodType<T[number], unknown> {
  return z.unknown().transform((value, ctx) => {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T[number];
    ctx.addIssue({ code: 'custom', message: `must be one of ${choices.join(', ')}, got ${shown(value)}` });
    return z.NEVER;
  });
}

export const nonEmptyText: z.ZodType<string, unknown> = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && value.trim() !== '') return value;
  ctx.addIssue({ code: 'custom', message: `must be a non-empty text, got ${shown(value)}` });
  return z.NEVER;
});

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * host:port, [ipv6]:port, or :port for every interface (as Go's listeners take it).
 * Port 0 asks the OS for a free port.
 */
export const hostPort: z.ZodType<HostPort, unknown> = z.unknown().transform((value, ctx) => {
  const m = typeof value === 'string' ? /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim()) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `must be an address host:port (port 0 to 65535), got ${shown(value)}` });
    return z.NEVER;
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
});

/** Oxia's TLS version codes (Go's tls.VersionTLS12 and VersionTLS13), as Node names them. */
export const TLS_VERSION_CODES = { 771: 'TLSv1.2', 772: 'TLSv1.3' } as const;
export type TlsVersionName = (typeof TLS_VERSION_CODES)[keyof typeof TLS_VERSION_CODES];

/**
 * A TLS version as Oxia's --tls-min-version/--tls-max-version take it: the uint16 code, in
 * decimal or 0x hex (771 or 0x0303 is TLS 1.2, 772 or 0x0304 TLS 1.3); 0, Oxia's default,
 * means "not set". Older versions are refused, as Oxia refuses them.
 */
export const tlsVersion: z.ZodType<TlsVersionName | undefined, unknown> = z.unknown().transform((value, ctx) => {
  if (value === undefined) return undefined;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const code = /^(?:0x[0-9a-f]{1,4}|\d{1,5})$/i.test(text) ? Number(text) : NaN;
  if (code === 0) return undefined;
  const name = (TLS_VERSION_CODES as Record<number, TlsVersionName>)[code];
  if (name === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a TLS version code: 771 (TLS 1.2) or 772 (TLS 1.3), got ${shown(value)}` });
    return z.NEVER;
  }
  return name;
});
