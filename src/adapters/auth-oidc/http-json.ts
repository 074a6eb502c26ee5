/**
 * GET a JSON document (an issuer's discovery document, its JWKS) with a deadline and a size
 * bound. node:https rather than fetch: its certificate checks use Node's default trust store,
 * which NODE_EXTRA_CA_CERTS extends with a private issuer's CA, and a fresh connection per
 * request leaves nothing open between the rare fetches.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type GetJson = (url: URL) => Promise<unknown>;

export interface GetJsonOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_GET_JSON_OPTIONS: GetJsonOptions = { timeoutMs: 10_000, maxBytes: 1024 * 1024 };

export function httpGetJson(options: GetJsonOptions = DEFAULT_GET_JSON_OPTIONS): GetJson {
  return (url) =>
    new Promise<unknown>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
      if (send === undefined) return reject(new Error(`cannot fetch ${url.href}: not an http(s) URL`));
      const req = send(url, { method: 'GET', agent: false, headers: { accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`GET ${url.href} answered HTTP ${res.statusCode}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            req.destroy(new Error(`GET ${url.href}: the document is larger than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(new Error(`GET ${url.href}: not a JSON document: ${(e as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      // One deadline for the whole exchange: a server that trickles its answer is cut off too.
      const deadline = setTimeout(() => req.destroy(new Error(`GET ${url.href}: no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (e) => reject(new Error(e.message.startsWith('GET ') ? e.message : `GET ${url.href} failed: ${e.message}`)));
      req.end();
    });
}
