/**
 * Where an issuer's public keys come from, as a key resolver for jose's jwtVerify: a static
 * key file (read once at start), or the issuer's JWKS, fetched at start and then kept: never
 * per call. The JWKS is fetched again when a token names a key it does not hold (the issuer
 * rotated its keys; at most once per cooldown, so that tokens with made-up key ids cannot
 * make the server hammer the issuer), and in the background when it is older than its
 * maximum age (so that a withdrawn key stops being trusted). A failed refresh keeps the keys
 * in service and is logged.
 */
import { createLocalJWKSet, errors, type JWK, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '../../application/ports/logger.js';
import type { GetJson } from './http-json.js';

export interface KeySource {
  readonly resolve: JWTVerifyGetKey;
}

/**
 * Keys from a file. A token's `kid` selects the key with that id when the file gives ids;
 * keys without an id (PEM keys) are tried for any token, as Oxia's static key set does.
 */
export function staticKeySource(keys: readonly JWK[]): KeySource {
  const all = createLocalJWKSet({ keys: [...keys] });
  const kidless = keys.some((k) => k.kid === undefined) ? createLocalJWKSet({ keys: keys.filter((k) => k.kid === undefined) }) : undefined;
  const kids = new Set(keys.flatMap((k) => (k.kid === undefined ? [] : [k.kid])));
  return {
    resolve: async (header: JWTHeaderParameters) => {
      if (header.kid !== undefined && kids.has(header.kid)) return all(header);
      if (kidless !== undefined) return kidless({ alg: header.alg });
      throw new errors.JWKSNoMatchingKey();
    },
  };
}

export interface RemoteKeySourceOptions {
  /** Least time between two fetches after the first (unknown key ids, a set past its age). */
  readonly unknownKidCooldownMs: number;
  /** Age after which the set is fetched again in the background. */
  readonly maxAgeMs: number;
  readonly now: () => number;
}

export const DEFAULT_REMOTE_KEY_SOURCE_OPTIONS: RemoteKeySourceOptions = { unknownKidCooldownMs: 5_000, maxAgeMs: 10 * 60_000, now: () => Date.now() };

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class RemoteKeySource implements KeySource {
  private keys: LocalSet | undefined;
  private fetchedAtMs = 0;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<boolean> | undefined;

  constructor(
    private readonly jwksUri: URL,
    private readonly getJson: GetJson,
    private readonly log: Logger,
    private readonly options: RemoteKeySourceOptions = DEFAULT_REMOTE_KEY_SOURCE_OPTIONS,
  ) {}

  /** The first fetch; throws when the set cannot be had (the server does not start without keys). */
  async load(): Promise<void> {
    this.lastAttemptMs = this.options.now();
    await this.fetch();
  }

  readonly resolve: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) throw new Error('the key set was not loaded');
    const now = this.options.now();
    // Rate-limited like the unknown-key refresh: an issuer that is down is not asked on every call.
    if (now - this.fetchedAtMs > this.options.maxAgeMs && now - this.lastAttemptMs >= this.options.unknownKidCooldownMs) void this.refresh('the key set is old');
    try {
      return await this.keys(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      if (!(await this.refreshForUnknownKey())) throw e;
      return this.keys(header, token);
    }
  };

  /** True when a fresh set is in service (fetched now, or by a fetch that was under way). */
  private async refreshForUnknownKey(): Promise<boolean> {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.options.now() - this.lastAttemptMs < this.options.unknownKidCooldownMs) return false;
    return this.refresh('a token names a key the set does not hold');
  }

  private refresh(why: string): Promise<boolean> {
    this.inFlight ??= (async () => {
      this.lastAttemptMs = this.options.now();
      try {
        await this.fetch();
        this.log.debug('issuer key set fetched', { jwksUri: this.jwksUri.href, why });
        return true;
      } catch (e) {
        this.log.warn('cannot fetch the issuer key set; the keys in service stay', { jwksUri: this.jwksUri.href, why, error: (e as Error).message });
        return false;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  private async fetch(): Promise<void> {
    const doc = await this.getJson(this.jwksUri);
    let keys: LocalSet;
    try {
      keys = createLocalJWKSet(doc as Parameters<typeof createLocalJWKSet>[0]);
    } catch (e) {
      throw new Error(`${this.jwksUri.href} is not a JSON Web Key Set: ${(e as Error).message}`);
    }
    this.keys = keys;
    this.fetchedAtMs = this.options.now();
  }
}
