/**
 * Settings of a perf run. Names and defaults follow Oxia's `oxia perf`; `durationMs`,
 * `maxInFlight`, `reportIntervalMs` and "rate 0 = as fast as possible" are additions.
 */
import type { Authentication } from '../client/auth.js';
import type { ClientTlsOptions } from '../client/options.js';

export interface PerfConfig {
  readonly serviceAddress: string;
  readonly namespace: string;
  /** Operations per second, reads and writes together; 0 runs as fast as `maxInFlight` allows. */
  readonly rate: number;
  /** Share of reads in percent (Oxia's `--read-write-percent`). */
  readonly readPercentage: number;
  /** Keys are "key-0" .. "key-<n-1>", picked uniformly. */
  readonly keysCardinality: number;
  readonly valueSizeBytes: number;
  /** A fresh random value for every write (else one value of zeros). */
  readonly randomPayload: boolean;
  readonly batchLingerMs: number;
  readonly maxRequestsPerBatch: number;
  readonly requestTimeoutMs: number;
  /** Stops after this long; 0 runs until the signal given to runPerf aborts. */
  readonly durationMs: number;
  /** Operations outstanding at once; when reached, new ones wait (and a fixed rate falls behind). */
  readonly maxInFlight: number;
  /** How often the live figures are reported. */
  readonly reportIntervalMs: number;
  /** TLS to the servers; plaintext when absent. */
  readonly tls?: ClientTlsOptions | undefined;
  /** Credentials sent with every call (a bearer token); none when absent. */
  readonly authentication?: Authentication | undefined;
}

/** How a run's TLS and credentials are shown in its report: whether they were used, never their contents. */
export interface PerfSecurityShown {
  readonly tls?: { readonly trustedCa: boolean; readonly clientCertificate: boolean; readonly serverName?: string; readonly insecureSkipVerify: boolean };
  readonly authentication?: 'token';
}

/** The config as a report may print it: the private key and the token are left out. */
export function shownPerfConfig(c: PerfConfig): Omit<PerfConfig, 'tls' | 'authentication'> & PerfSecurityShown {
  const { tls, authentication, ...rest } = c;
  return {
    ...rest,
    ...(tls
      ? {
          tls: {
            trustedCa: tls.ca !== undefined,
            clientCertificate: tls.cert !== undefined,
            ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
            insecureSkipVerify: tls.insecureSkipVerify === true,
          },
        }
      : {}),
    ...(authentication ? { authentication: 'token' as const } : {}),
  };
}

export const PERF_DEFAULTS: PerfConfig = {
  serviceAddress: 'localhost:6648',
  namespace: 'default',
  rate: 100,
  readPercentage: 80,
  keysCardinality: 1000,
  valueSizeBytes: 128,
  randomPayload: false,
  batchLingerMs: 5,
  maxRequestsPerBatch: 1000,
  requestTimeoutMs: 30_000,
  durationMs: 0,
  maxInFlight: 1000,
  reportIntervalMs: 5000,
};

/** Reasons the config cannot run, one per bad field (empty when it is fine). */
export function perfConfigProblems(c: PerfConfig): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  check(Number.isFinite(c.rate) && c.rate >= 0, `rate must be >= 0 (0: as fast as possible), got ${c.rate}`);
  check(Number.isFinite(c.readPercentage) && c.readPercentage >= 0 && c.readPercentage <= 100, `read-write-percent must be from 0 to 100, got ${c.readPercentage}`);
  check(Number.isSafeInteger(c.keysCardinality) && c.keysCardinality >= 1, `keys-cardinality must be an integer >= 1, got ${c.keysCardinality}`);
  check(Number.isSafeInteger(c.valueSizeBytes) && c.valueSizeBytes >= 0 && c.valueSizeBytes <= 64 * 1024 * 1024, `value-size must be an integer from 0 to 64 MiB, got ${c.valueSizeBytes}`);
  check(Number.isFinite(c.batchLingerMs) && c.batchLingerMs >= 0, `batch-linger must be >= 0, got ${c.batchLingerMs} ms`);
  check(Number.isSafeInteger(c.maxRequestsPerBatch) && c.maxRequestsPerBatch >= 1, `max-requests-per-batch must be an integer >= 1, got ${c.maxRequestsPerBatch}`);
  check(Number.isFinite(c.requestTimeoutMs) && c.requestTimeoutMs > 0, `request-timeout must be > 0, got ${c.requestTimeoutMs} ms`);
  check(Number.isFinite(c.durationMs) && c.durationMs >= 0, `duration must be >= 0 (0: until interrupted), got ${c.durationMs} ms`);
  check(Number.isSafeInteger(c.maxInFlight) && c.maxInFlight >= 1, `max-in-flight must be an integer >= 1, got ${c.maxInFlight}`);
  check(Number.isFinite(c.reportIntervalMs) && c.reportIntervalMs >= 100, `report-interval must be at least 100 ms, got ${c.reportIntervalMs} ms`);
  return problems;
}
