import { fromUtf8, utf8 } from './bytes.js';

/**
 * Percent-escaping of one path segment with exactly the rules of Go's url.PathEscape,
 * which Oxia uses to embed a user key inside an internal key (session shadows,
 * secondary index entries). The escaped form never contains '/', so the embedded key
 * adds no hierarchy level and stays parseable.
 */
const HEX = '0123456789ABCDEF';

function isUnescaped(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e || // - _ . ~
    c === 0x24 || c === 0x26 || c === 0x2b || c === 0x3a || c === 0x3d || c === 0x40 // $ & + : = @
  );
}

export function pathEscape(segment: string): string {
  // Fast path: most keys need no escaping.
  let plain = true;
  for (let i = 0; i < segment.length; i++) {
    if (!isUnescaped(segment.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return segment;
  let out = '';
  for (const b of utf8(segment)) {
    out += isUnescaped(b) ? String.fromCharCode(b) : '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Inverse of pathEscape; undefined for a malformed escape (as Go's PathUnescape errors). */
export function pathUnescape(escaped: string): string | undefined {
  if (!escaped.includes('%')) return escaped;
  const raw = utf8(escaped);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== 0x25) {
      out[n++] = c;
      continue;
    }
    const hi = hexValue(raw[i + 1] ?? -1);
    const lo = hexValue(raw[i + 2] ?? -1);
    if (hi < 0 || lo < 0) return undefined;
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return fromUtf8(out.subarray(0, n));
}
