// The pure parts of `npm run bench -- --security`: its flags and its report (the ratios to
// plaintext, the means over rounds, CPU per operation). No server runs here (the bench itself
// is never part of `npm test`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { QUICK } from './compare/options.js';
import { parseSecurityArgs, SECURITY_DEFAULTS } from './security/options.js';
import { renderSecurityMarkdown, renderSecurityTable, summarize, type SecurityPoint, type SecurityReport } from './security/report.js';

const S = suite('bench --security');

S('defaults: plaintext, TLS, TLS + OIDC; puts and gets at 1 and 64 callers; 2 rounds; --security itself is accepted', () => {
  const o = parseSecurityArgs(['--security']);
  assert.equal(o, SECURITY_DEFAULTS);
  assert.equal(o.setups, ['plaintext', 'tls', 'tls-oidc']);
  assert.equal(o.concurrencies, [1, 64]);
  assert.is(o.rounds, 2);
  assert.is(o.shards, 3);
});

S('--quick: short points and one round, unless given; setups keep their order; mistakes are listed together', () => {
  const quick = parseSecurityArgs(['--quick']);
  assert.is(quick.durationMs, QUICK.durationMs);
  assert.is(quick.rounds, 1);
  assert.is(parseSecurityArgs(['--quick', '--rounds', '3']).rounds, 3);
  assert.equal(parseSecurityArgs(['--setups', 'tls-oidc,plaintext']).setups, ['plaintext', 'tls-oidc']);
  assert.equal(parseSecurityArgs(['--setups', 'tls-oidc,tls-token-unchecked,tls']).setups, ['tls', 'tls-token-unchecked', 'tls-oidc']);
  try {
    parseSecurityArgs(['--setups', 'ssl', '--rounds', '0', '--concurrency', 'x']);
    assert.unreachable('accepted bad flags');
  } catch (e) {
    assert.instance(e, ConfigError);
    const problems = (e as ConfigError).problems.join('\n');
    assert.match(problems, /--setups takes plaintext, tls, tls-token-unchecked, tls-oidc/);
    assert.match(problems, /--rounds must be an integer >= 1/);
    assert.match(problems, /--concurrency takes integers/);
  }
});

function point(setup: SecurityPoint['setup'], round: number, operation: SecurityPoint['operation'], concurrency: number, opsPerSec: number, extra: Partial<SecurityPoint> = {}): SecurityPoint {
  return { system: 'oxia-ts', setup, round, operation, concurrency, ops: opsPerSec * 8, opsPerSec, failed: 0, p50Ms: 1, p99Ms: 4, p999Ms: 9, elapsedMs: 8000, ...extra };
}

const report: SecurityReport = {
  machine: { date: '2025-01-02T03:04:05Z', cpus: 2, cpuModel: 'Test CPU', memoryGiB: 8, node: '20.0.0', os: 'Linux 6', loadAverageStart: 0.5, loadAverageEnd: 1.25, commit: 'abc1234' },
  workload: { shards: 3, durationMs: 8000, warmupMs: 2000, rounds: 2, keys: 1000, valueSizeBytes: 128, concurrencies: [1], operations: ['put'] },
  setups: [
    { name: 'plaintext', settings: 'no TLS' },
    { name: 'tls', settings: 'TLS' },
  ],
  points: [
    point('plaintext', 1, 'put', 1, 1000, { serverCpuPercent: 50, clientCpuPercent: 20, otherCpuPercent: 3, p50Ms: 1 }),
    point('plaintext', 2, 'put', 1, 1200, { serverCpuPercent: 60, clientCpuPercent: 24, otherCpuPercent: 7, p50Ms: 1 }),
    point('tls', 1, 'put', 1, 800, { serverCpuPercent: 60, clientCpuPercent: 20, otherCpuPercent: 2, p50Ms: 1.5 }),
    point('tls', 2, 'put', 1, 850, { serverCpuPercent: 68, clientCpuPercent: 17, otherCpuPercent: 4, p50Ms: 1.5 }),
  ],
};

S('summaries: mean throughput over the rounds with its range, CPU µs per operation, the most CPU others used', () => {
  const plain = summarize(report, 'plaintext', 'put', 1)!;
  assert.is(plain.rounds, 2);
  assert.is(plain.opsPerSec, 1100);
  assert.is(plain.minOpsPerSec, 1000);
  assert.is(plain.maxOpsPerSec, 1200);
  assert.is(plain.serverCpuUsPerOp, 500); // 50% of a CPU over 1000 ops/s, 60% over 1200
  assert.is(plain.clientCpuUsPerOp, 200);
  assert.is(plain.maxOtherCpuPercent, 7);
  assert.is(summarize(report, 'tls-oidc', 'put', 1), undefined);
});

S('the table: ratios to plaintext of the same session, none on the baseline row', () => {
  const table = renderSecurityTable(report, 'put');
  const rows = table.split('\n').slice(2);
  assert.is(rows.length, 2);
  assert.match(rows[0]!, /^\| 1 \| plaintext \| 1,100 \(1,000–1,200\) \|  \| 1\.00 \/ 4\.00 \|  \| 500 \| 200 \|$/);
  // 825 / 1100 = 0.75; p50 1.5 / 1 = 1.5; server 60% / 800 and 68% / 850 = 750 and 800 µs, mean 775
  assert.match(rows[1]!, /^\| 1 \| TLS \| 825 \(800–850\) \| 0\.75x \| 1\.50 \/ 4\.00 \| 1\.50x \| 775 \| 225 \|$/);
  const md = renderSecurityMarkdown(report);
  assert.match(md, /Other processes used 2% to 7% of one CPU during the measured points/);
  assert.match(md, /- TLS: TLS/);
});

S.run();
