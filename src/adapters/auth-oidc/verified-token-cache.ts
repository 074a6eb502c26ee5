/**
 * Tokens verified recently, so that the signature check (tens of microseconds for RS256) is
 * not repeated on every call: clients send their token with each one. Keyed by the token's
 * SHA-256, bounded in entries (the oldest go first), and an entry serves until the token
 * expires or for at most `maxAgeMs` (so that a key withdrawn from the issuer's set stops
 * being trusted within that time, once the set has been fetched again).
 */
import { createHash } from 'node:crypto';
import type { VerifiedToken } from './token-verifier.js';

export interface VerifiedTokenCacheOptions {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE_OPTIONS: VerifiedTokenCacheOptions = { maxEntries: 4096, maxAgeMs: 5 * 60_000 };

interface Entry {
  readonly verified: VerifiedToken;
  readonly untilMs: number;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: VerifiedTokenCacheOptions = DEFAULT_VERIFIED_TOKEN_CACHE_OPTIONS) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.untilMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.verified;
  }

  set(key: string, verified: VerifiedToken, nowMs: number): void {
    if (this.options.maxEntries <= 0) return;
    const untilMs = Math.min(verified.expiresAtMs, nowMs + this.options.maxAgeMs);
    if (untilMs <= nowMs) return;
    this.entries.delete(key);
    while (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { verified, untilMs });
  }
}
