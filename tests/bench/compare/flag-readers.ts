/**
 * Readers of the bench flags' values (lists, integers, durations, caller counts), each adding
 * a problem naming its flag and returning a fallback when the value is wrong, so that a parse
 * reports every problem at once. Shared by --compare and --security.
 */
import { parseDurationMs } from '../../../src/bootstrap/config/values.js';

export function flagReaders(problems: string[]) {
  const fail = <T>(message: string, fallback: T): T => {
    problems.push(message);
    return fallback;
  };
  return {
    /** Items of `allowed`, comma separated; kept in the canonical order, without repeats. */
    listOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[], fallback: readonly T[]): readonly T[] {
      if (text === undefined) return fallback;
      const items = text.split(',').map((s) => s.trim());
      const unknown = items.filter((s) => !(allowed as readonly string[]).includes(s));
      if (unknown.length > 0 || items.length === 0) return fail(`--${name} takes ${allowed.join(', ')}; got "${text}"`, fallback);
      return allowed.filter((a) => items.includes(a));
    },
    integer(name: string, text: string | undefined, min: number, fallback: number): number {
      if (text === undefined) return fallback;
      const v = Number(text);
      return Number.isSafeInteger(v) && v >= min && text.trim() !== '' ? v : fail(`--${name} must be an integer >= ${min}, got "${text}"`, fallback);
    },
    durationOf(name: string, text: string | undefined, min: number, fallback: number): number {
      if (text === undefined) return fallback;
      const v = parseDurationMs(text);
      return v !== undefined && v >= min ? v : fail(`--${name} must be a duration of at least ${min} ms such as 8s or 500ms, got "${text}"`, fallback);
    },
    /** Numbers of callers, comma separated: sorted, without repeats. */
    concurrencies(text: string | undefined, fallback: readonly number[]): readonly number[] {
      if (text === undefined) return fallback;
      const values = text.split(',').map((s) => Number(s.trim()));
      if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) return fail(`--concurrency takes integers >= 1 separated by commas, got "${text}"`, []);
      return [...new Set(values)].sort((a, b) => a - b);
    },
  };
}
