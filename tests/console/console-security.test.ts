// The web console behind the admin listener's TLS and authentication (ADR 0028), on a real
// cluster whose every listener is TLS and whose public ports take OIDC tokens (static key made
// at test time) under an authorization policy: no credentials send a page to the login form and
// refuse the API and the event stream; a bad token, a cross-site login form and a principal
// without the admin right are refused; a token with it logs in to a short-lived HttpOnly,
// SameSite=Strict, Secure cookie that also carries the event stream; the key browser reads with
// the caller's own token (the servers decide); logging out and an expired token end the session.
// The login, and the live page it leads to, are also done in a real headless Chromium.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, TokenAuthentication } from '../../src/adapters/client/index.js';
import { autofocusedName, launchBrowser, testOutputDir, type PageDocument } from '../support/browser.js';
import { makeCa } from '../support/certs.js';
import { TestCluster } from '../support/cluster.js';
import { makeIssuer } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

declare const document: PageDocument;

const S = suite('console: TLS, tokens, login sessions and the admin right');
const dir = mkdtempSync(join(tmpdir(), 'oxia-console-security-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const ca = makeCa(dir, 'ca');
const nodeCert = ca.issue('node');
const coordinatorCert = ca.issue('coordinator');
const caPem = readFileSync(ca.certFile);
const issuer = await makeIssuer('https://issuer.oxia.test', 'ES256');
const keyFile = issuer.writePublicPem(join(dir, 'issuer.pem'));
const authFlags = ['--auth-provider-name', 'oidc', '--auth-provider-params', JSON.stringify({ issuers: { [issuer.issuer]: { allowedAudiences: 'oxia', staticKeyFile: keyFile } } })];
// The servers and the coordinator have their own policies here: ops administers the cluster
// (the coordinator's policy) but is given nothing on the servers, which read with his own token.
const serverGrants = `
grants:
  - principals: ["user:alice"]
    namespaces: [default]
    rights: [read, write]
  - principals: ["user:root"]
    namespaces: ["*"]
    rights: [admin]
`;
const serverPolicyFile = join(dir, 'server-policy.yaml');
writeFileSync(serverPolicyFile, serverGrants);
const policyFile = join(dir, 'coordinator-policy.yaml');
writeFileSync(
  policyFile,
  `${serverGrants}  - principals: ["user:ops"]
    namespaces: ["*"]
    rights: [admin]
`,
);
const token = (sub: string, expiresInS?: number) => issuer.sign({ sub, ...(expiresInS === undefined ? {} : { expiresInS }) });

let cluster: TestCluster | undefined;
let base: URL;

S.before(async () => {
  cluster = await TestCluster.start({
    nodes: 1,
    namespaces: [{ name: 'default', shards: 1, rf: 1 }],
    serverArgs: [
      '--tls-cert-file', nodeCert.certFile, '--tls-key-file', nodeCert.keyFile,
      '--internal-tls-cert-file', nodeCert.certFile, '--internal-tls-key-file', nodeCert.keyFile,
      '--internal-tls-trusted-ca-file', ca.certFile, '--internal-tls-client-auth',
      '--peer-tls-cert-file', nodeCert.certFile, '--peer-tls-key-file', nodeCert.keyFile, '--peer-tls-trusted-ca-file', ca.certFile,
      ...authFlags, '--authorization-policy-file', serverPolicyFile,
    ],
    coordinatorArgs: [
      '--console-addr', '127.0.0.1:0',
      '--public-tls-cert-file', coordinatorCert.certFile, '--public-tls-key-file', coordinatorCert.keyFile,
      '--peer-tls-cert-file', coordinatorCert.certFile, '--peer-tls-key-file', coordinatorCert.keyFile, '--peer-tls-trusted-ca-file', ca.certFile,
      ...authFlags, '--authorization-policy-file', policyFile,
    ],
  });
  base = new URL(String(cluster.coordinator.serving.consoleUrl));
  assert.is(base.protocol, 'https:');
});

S.after(async () => {
  await cluster?.close();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTPS request to the console (trusting the test CA); `firstEvent` stops at the first server-sent event. */
function call(method: string, path: string, options: { headers?: Record<string, string>; form?: Record<string, string>; firstEvent?: boolean } = {}): Promise<Answer> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method,
        ca: caPem,
        // The certificate names 127.0.0.1 and localhost; SNI takes a name, not an address.
        servername: 'localhost',
        headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers },
        timeout: 20_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (options.firstEvent && /\ndata: .*\n\n/.test(text)) {
            res.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function login(sub: string, expiresInS?: number): Promise<string> {
  const r = await call('POST', '/login', { form: { token: await token(sub, expiresInS) } });
  assert.is(r.status, 303, r.body);
  const cookie = String(r.headers['set-cookie']);
  assert.match(cookie, /^oxia_console=[\w-]{20,};/);
  return cookie.split(';')[0]!;
}

S('without credentials: the page goes to the login form, the API and the events are refused', async () => {
  const page = await call('GET', '/');
  assert.is(page.status, 303);
  assert.is(page.headers.location, 'login');
  const form = await call('GET', '/login');
  assert.is(form.status, 200);
  assert.match(form.body, /type="password" name="token"/);
  assert.is((await call('GET', '/api/cluster')).status, 401);
  assert.is((await call('GET', '/events')).status, 401);
  assert.is((await call('GET', '/keys?namespace=default')).status, 303);
});

S('login: a bad token, a cross-site form and a principal without the admin right are refused', async () => {
  const bad = await call('POST', '/login', { form: { token: 'not-a-jwt' } });
  assert.is(bad.status, 401);
  assert.is(bad.headers['set-cookie'], undefined);
  const crossSite = await call('POST', '/login', { form: { token: await token('root') }, headers: { origin: 'https://evil.example' } });
  assert.is(crossSite.status, 403);
  assert.is(crossSite.headers['set-cookie'], undefined);
  // alice is a valid principal (she may log in) but has no admin right: the pages refuse her.
  const alice = await login('alice');
  assert.is((await call('GET', '/', { headers: { cookie: alice } })).status, 403);
  assert.is((await call('GET', '/events', { headers: { cookie: alice } })).status, 403);
  assert.is((await call('GET', '/api/cluster', { headers: { authorization: `Bearer ${await token('alice')}` } })).status, 403);
});

S('an admin logs in: the cookie is short-lived, HttpOnly, SameSite=Strict and Secure, and carries the page and the event stream', async () => {
  const r = await call('POST', '/login', { form: { token: await token('root') }, headers: { origin: base.origin } });
  assert.is(r.status, 303);
  const cookie = String(r.headers['set-cookie']);
  for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Secure', 'Max-Age=900', 'Path=/']) assert.ok(cookie.includes(attribute), cookie);
  const session = cookie.split(';')[0]!;
  await waitFor(async () => (await call('GET', '/', { headers: { cookie: session } })).body.includes('data-leader="node-0"'), 'the page showing node-0 leading', 60_000, 200);
  const page = await call('GET', '/', { headers: { cookie: session } });
  assert.is(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-/);
  const events = await call('GET', '/events', { headers: { cookie: session }, firstEvent: true });
  assert.is(events.status, 200);
  assert.match(events.body, /data: ".*data-server=\\"node-0\\"/);
  // Scripts may also send the token in an Authorization header.
  const api = await call('GET', '/api/cluster', { headers: { authorization: `Bearer ${await token('root')}` } });
  assert.is(api.status, 200);
  assert.is(JSON.parse(api.body).kind, 'cluster');
});

S("key browser: reads with the caller's token; the servers refuse a principal without the read right", async () => {
  const client = await OxiaClient.connect(cluster!.nodes[0]!.publicAddress, {
    authentication: new TokenAuthentication(() => token('alice')),
    tls: { ca: caPem },
    requestTimeoutMs: 20_000,
    logger: { warn: () => {} },
  });
  try {
    await client.put('/secure/k', 'secret value');
  } finally {
    await client.close();
  }
  const root = await login('root');
  const listing = await call('GET', '/keys?namespace=default&prefix=%2Fsecure%2F', { headers: { cookie: root } });
  assert.is(listing.status, 200, listing.body);
  assert.match(listing.body, /<a href="keys\?namespace=default&key=%2Fsecure%2Fk">\/secure\/k<\/a>/);
  const record = await call('GET', '/keys?namespace=default&key=%2Fsecure%2Fk', { headers: { cookie: root } });
  assert.match(record.body, /secret value/);
  assert.match(record.body, /<dt>version id<\/dt><dd>\d+<\/dd>/);
  // ops administers the cluster but the servers give him nothing: they refuse, the console passes it on.
  const ops = await login('ops');
  assert.is((await call('GET', '/', { headers: { cookie: ops } })).status, 200);
  const refused = await call('GET', '/keys?namespace=default&key=%2Fsecure%2Fk', { headers: { cookie: ops } });
  assert.is(refused.status, 403, refused.body);
  assert.match(refused.body, /ops/);
  assert.not.match(refused.body, /secret value/);
});

S('logging out and an expired token end the session', async () => {
  const session = await login('root');
  assert.is((await call('GET', '/', { headers: { cookie: session } })).status, 200);
  const out = await call('POST', '/logout', { headers: { cookie: session } });
  assert.is(out.status, 303);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  assert.is((await call('GET', '/', { headers: { cookie: session } })).status, 303);
  // Each request re-verifies the token behind the cookie: once it expires, the session is over.
  // The verifier allows 60 s of clock skew (token-verifier.ts): this token passes for 5 s more.
  const shortLived = await login('root', -55);
  assert.is((await call('GET', '/api/cluster', { headers: { cookie: shortLived } })).status, 200);
  await waitFor(async () => (await call('GET', '/api/cluster', { headers: { cookie: shortLived } })).status === 401, 'the expired token refused', 20_000, 250);
});

S('in Chromium: the login form by keyboard, then the live page over the cookie', async () => {
  const browser = await launchBrowser();
  try {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    // The test CA is not the system's: this browser trusts the console's certificate by name of the test.
    await page.setViewport({ width: 390, height: 844, isMobile: true });
    const client = await page.createCDPSession();
    await client.send('Security.setIgnoreCertificateErrors', { ignore: true });
    await page.goto(base.href);
    assert.match(page.url(), /\/login$/);
    assert.is(await autofocusedName(page), 'token');
    await page.keyboard.type(await token('root'));
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await page
      .waitForFunction(() => document.querySelector('#conn')?.textContent === 'live' && document.querySelector('tr[data-server="node-0"]')?.getAttribute('data-health') === 'up')
      .catch(async (e: unknown) => {
        throw new Error(`${String(e)}\n${page.url()}\n${(await page.content()).slice(0, 3000)}`);
      });
    await page.screenshot({ path: join(testOutputDir('console'), '7-secure-after-login.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

S.run();
