// Reads a node's /metrics over HTTP and parses the Prometheus text format into samples,
// so that tests can check series by name and labels.
import { request, type IncomingHttpHeaders } from 'node:http';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class MetricSamples {
  constructor(
    readonly samples: readonly Sample[],
    /** The exposition as served, for failure messages. */
    readonly text: string,
  ) {}

  /** Samples named `name` whose labels include every label of `where`. */
  all(name: string, where: Readonly<Record<string, string>> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  }

  /** The one sample named `name` matching `where`; undefined when none, an error when several. */
  value(name: string, where: Readonly<Record<string, string>> = {}): number | undefined {
    const found = this.all(name, where);
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(where)}`);
    return found[0]?.value;
  }

  /** The sum over the samples named `name` matching `where` (0 when none). */
  sum(name: string, where: Readonly<Record<string, string>> = {}): number {
    return this.all(name, where).reduce((total, s) => total + s.value, 0);
  }

  /** The HELP/TYPE-declared metric families present. */
  families(): Set<string> {
    return new Set([...this.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  }
}

export function httpGet(address: string, path: string): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${address}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): MetricSamples {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return new MetricSamples(samples, text);
}

export async function scrapeMetrics(address: string): Promise<MetricSamples> {
  const { status, body } = await httpGet(address, '/metrics');
  if (status !== 200) throw new Error(`GET ${address}/metrics answered ${status}: ${body}`);
  return parseExposition(body);
}
