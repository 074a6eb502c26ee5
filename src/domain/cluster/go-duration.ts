/**
 * Durations as Oxia's YAML writes them: Go's time.Duration text ("30s", "1m30s", "1.5h",
 * "250ms", "0"), which is a sequence of decimal numbers each with a unit.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds of a Go duration string, or undefined when it is not one. Negative durations are refused. */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  let pos = 0;
  let total = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}
