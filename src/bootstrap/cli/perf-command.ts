/**
 * `oxia-ts perf`: Oxia's perf tool (`oxia perf`) with its flags and defaults, plus
 * `--duration`, `--max-in-flight`, `--report-interval` and `--rate 0` (as fast as
 * possible). Prints a live line per interval and a final summary; `--json` prints them
 * as JSON lines ({"type":"interval",...}, then {"type":"summary",...}). Runs until the
 * duration ends or SIGINT/SIGTERM. Exit 0 when operations succeeded, 1 when none did,
 * 2 for usage errors.
 */
import { Command, Option } from 'commander';
import { formatInterval, formatSummary, perfConfigProblems, PERF_DEFAULTS, runPerf, shownPerfConfig, type PerfConfig } from '../../adapters/perf/index.js';
import { parseDurationMs } from '../config/values.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';
import { addClientAuthFlags, clientAuthenticationOf, type ClientAuthFlags } from './client-auth-flags.js';
import { addClientTlsFlags, clientTlsOf, type ClientTlsFlags } from './client-tls-flags.js';
import { ConfigError } from '../config/option-table.js';

interface PerfFlags extends ClientTlsFlags, ClientAuthFlags {
  serviceAddress: string;
  namespace: string;
  rate: string;
  readWritePercent: string;
  keysCardinality: string;
  valueSize: string;
  randomPayload?: boolean;
  batchLinger: string;
  maxRequestsPerBatch: string;
  requestTimeout: string;
  duration: string;
  maxInFlight: string;
  reportInterval: string;
  json?: boolean;
}

const d = PERF_DEFAULTS;

export function perfCommand(outcome: CommandOutcome): Command {
  return addClientTlsFlags(addClientAuthFlags(new Command('perf')))
    .description('basic performance test: random reads and writes against a cluster, with latency percentiles')
    .addOption(new Option('-a, --service-address <host:port>', 'service address').default(d.serviceAddress))
    .addOption(new Option('-n, --namespace <namespace>', 'the Oxia namespace to use').default(d.namespace))
    .addOption(new Option('-r, --rate <ops/s>', 'request rate, reads and writes together; 0 = as fast as possible').default(String(d.rate)))
    .addOption(new Option('-p, --read-write-percent <percent>', 'percentage of read requests').default(String(d.readPercentage)))
    .addOption(new Option('--keys-cardinality <n>', 'number of distinct keys').default(String(d.keysCardinality)))
    .addOption(new Option('-s, --value-size <bytes>', 'size of the values to write').default(String(d.valueSizeBytes)))
    .addOption(new Option('--random-payload', 'a random value for each write'))
    .addOption(new Option('--batch-linger <duration>', 'client batch linger').default(`${d.batchLingerMs}ms`))
    .addOption(new Option('--max-requests-per-batch <n>', 'client maximum requests per batch').default(String(d.maxRequestsPerBatch)))
    .addOption(new Option('--request-timeout <duration>', 'request timeout').default(`${d.requestTimeoutMs / 1000}s`))
    .addOption(new Option('--duration <duration>', 'how long to run; 0 = until interrupted').default('0'))
    .addOption(new Option('--max-in-flight <n>', 'operations outstanding at once (bounds memory; a rate above what it allows falls behind)').default(String(d.maxInFlight)))
    .addOption(new Option('--report-interval <duration>', 'how often to print the live figures').default(`${d.reportIntervalMs / 1000}s`))
    .addOption(new Option('--json', 'print JSON lines instead of text'))
    .action(async (flags: PerfFlags) => {
      let config: PerfConfig;
      try {
        config = parseFlags(flags);
      } catch (e) {
        process.stderr.write(`oxia-ts perf: ${(e as Error).message}\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      outcome.exitCode = await run(config, flags.json === true);
    });
}

async function run(config: PerfConfig, json: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const startMs = performance.now();
  if (!json) process.stderr.write(`oxia-ts perf: ${describe(config)}\n`);
  try {
    const summary = await runPerf(config, {
      signal: stop.signal,
      onInterval: (f) => {
        if (json) process.stdout.write(`${JSON.stringify({ type: 'interval', ...f })}\n`);
        else process.stdout.write(`${formatInterval(f, performance.now() - startMs)}\n`);
      },
    });
    if (json) process.stdout.write(`${JSON.stringify({ type: 'summary', ...summary, config: shownPerfConfig(summary.config) })}\n`);
    else process.stdout.write(`${formatSummary(summary)}\n`);
    return summary.ops > 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    process.stderr.write(`oxia-ts perf: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describe(c: PerfConfig): string {
  const rate = c.rate === 0 ? 'as fast as possible' : `${c.rate} ops/s`;
  return `${c.serviceAddress} namespace ${c.namespace}, ${rate}, ${c.readPercentage}% reads, ${c.keysCardinality} keys, ${c.valueSizeBytes} B values, batch linger ${c.batchLingerMs} ms, ${c.maxRequestsPerBatch} requests per batch, at most ${c.maxInFlight} in flight${c.durationMs > 0 ? `, for ${c.durationMs / 1000} s` : ''}`;
}

/** The TLS and token flags as the client takes them; their problems as one usage error. */
function securityOf(f: PerfFlags): Pick<PerfConfig, 'tls' | 'authentication'> {
  try {
    return { tls: clientTlsOf(f), authentication: clientAuthenticationOf(f) };
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(e.problems.join('; '));
    throw e;
  }
}

function parseFlags(f: PerfFlags): PerfConfig {
  const number = (flag: string, text: string): number => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) throw new Error(`--${flag}: must be a number, got "${text}"`);
    return v;
  };
  const duration = (flag: string, text: string): number => {
    const v = parseDurationMs(text);
    if (v === undefined) throw new Error(`--${flag}: must be a duration such as 5ms, 30s or 1m, got "${text}"`);
    return v;
  };
  const config: PerfConfig = {
    serviceAddress: f.serviceAddress,
    namespace: f.namespace,
    rate: number('rate', f.rate),
    readPercentage: number('read-write-percent', f.readWritePercent),
    keysCardinality: number('keys-cardinality', f.keysCardinality),
    valueSizeBytes: number('value-size', f.valueSize),
    randomPayload: f.randomPayload === true,
    batchLingerMs: duration('batch-linger', f.batchLinger),
    maxRequestsPerBatch: number('max-requests-per-batch', f.maxRequestsPerBatch),
    requestTimeoutMs: duration('request-timeout', f.requestTimeout),
    durationMs: duration('duration', f.duration),
    maxInFlight: number('max-in-flight', f.maxInFlight),
    reportIntervalMs: duration('report-interval', f.reportInterval),
    ...securityOf(f),
  };
  const problems = perfConfigProblems(config);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return config;
}
