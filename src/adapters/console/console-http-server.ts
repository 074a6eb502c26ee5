/**
 * The web console's listener (`--console-addr`, ADR 0028): HTML pages, server-sent events and
 * a JSON view, over HTTPS with the admin listener's TLS settings when it has them. Every
 * request is authenticated by the same Authenticator as the admin API (a bearer token in an
 * Authorization header, or the login session's cookie, and the client certificate of mutual
 * TLS); ClusterConsole checks the admin right. Read-only: the only POSTs log in and out.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import { ClusterConsole } from '../../application/console/cluster-console.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { Logger } from '../../application/ports/logger.js';
import { isOxiaError, type OxiaErrorKind } from '../../domain/errors/oxia-error.js';
import type { Principal } from '../../domain/security/principal.js';
import { subjectOf } from '../grpc/call-credentials.js';
import { serverContextOptions } from '../tls/grpc-server-credentials.js';
import type { ServerTlsSettings } from '../tls/tls-settings.js';
import { WatchedTlsFiles } from '../tls/watched-tls-files.js';
import { clusterPage, errorPage, keysPage, loginPage, renderLive, SCRIPT, type PageChrome } from './console-page.js';
import { cookieValue, LoginSessions, SESSION_COOKIE, SESSION_TTL_MS } from './login-sessions.js';
import { closeHttpServerNow, listenHttp } from '../http/http-server-lifecycle.js';

export interface ConsoleHttpOptions {
  readonly bind: { readonly host: string; readonly port: number };
  /** HTTPS with the admin listener's certificate (and client certificates when it requires them). */
  readonly tls: ServerTlsSettings | undefined;
}
export const ConsoleHttpOptions: ServiceIdentifier<ConsoleHttpOptions> = Symbol.for('oxia.ConsoleHttpOptions');

/** Between two pushes of the live page: the page is never more than this behind (plus its own build). */
const PUSH_INTERVAL_MS = 1_000;
/** A burst of journal entries (an election storm) is pushed once. */
const EVENT_DEBOUNCE_MS = 100;
const FORM_BYTES_MAX = 16 * 1024;

const CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const HTTP_STATUS: Partial<Record<OxiaErrorKind, number>> = {
  Unauthenticated: 401,
  PermissionDenied: 403,
  InvalidArgument: 400,
  NamespaceNotFound: 404,
  NotFound: 404,
  ResourceUnavailable: 503,
  NotInitialized: 503,
};

interface Caller {
  readonly principal: Principal;
  readonly authorization: string | undefined;
  readonly chrome: PageChrome;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

@injectable()
export class ConsoleHttpServer {
  private server: Server | undefined;
  private tlsFiles: WatchedTlsFiles | undefined;
  private readonly sessions = new LoginSessions();
  private readonly streams = new Set<ServerResponse>();
  private readonly log: Logger;

  constructor(
    @inject(ConsoleHttpOptions) private readonly options: ConsoleHttpOptions,
    @inject(ClusterConsole) private readonly console: ClusterConsole,
    @inject(Authenticator) private readonly authenticator: Authenticator,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'console-http' });
  }

  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.options.bind;
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      void this.route(req, res).catch((error: unknown) => this.fail(res, error));
    };
    const tls = this.options.tls;
    let server: Server;
    if (tls) {
      const files = new WatchedTlsFiles({ certFile: tls.certFile, keyFile: tls.keyFile, trustedCaFile: tls.trustedCaFile }, this.log);
      this.tlsFiles = files;
      const https = createHttpsServer({ requestCert: tls.clientAuth, rejectUnauthorized: tls.clientAuth, ...serverContextOptions(files.material, tls) }, handle);
      files.onChange((m) => https.setSecureContext(serverContextOptions(m, tls)));
      server = https;
    } else {
      server = createServer(handle);
    }
    server.keepAliveTimeout = 5_000;
    const bound = await listenHttp(server, host, port, 'the console');
    this.server = server;
    return bound;
  }

  async close(): Promise<void> {
    this.tlsFiles?.close();
    this.tlsFiles = undefined;
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeHttpServerNow(server);
  }

  // ------------------------------------------------------------------ routes

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/login') return this.login(req, res);
    if (req.method === 'POST' && path === '/logout') return this.logout(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    if (path === '/login') {
      if (!this.authenticator.requiresToken) return this.redirect(res, './');
      return this.send(res, 200, 'text/html; charset=utf-8', loginPage(undefined));
    }
    const page = path === '/' || path === '/keys';
    let caller: Caller;
    try {
      caller = await this.caller(req);
    } catch (error) {
      if (page && isOxiaError(error, 'Unauthenticated') && this.authenticator.requiresToken) return this.redirect(res, 'login');
      throw error;
    }
    switch (path) {
      case '/':
        this.console.authorizeClusterPage(caller.principal);
        return this.send(res, 200, 'text/html; charset=utf-8', clusterPage(await this.console.view(caller.principal, caller.authorization), caller.chrome));
      case '/events':
        this.console.authorizeClusterPage(caller.principal);
        return this.stream(req, res);
      case '/api/cluster':
        return this.send(res, 200, 'application/json', JSON.stringify(await this.console.view(caller.principal, caller.authorization)));
      case '/keys':
        return this.keys(url, res, caller);
      default:
        return this.send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  private async keys(url: URL, res: ServerResponse, caller: Caller): Promise<void> {
    const namespaces = this.console.namespaces(caller.principal);
    const namespace = url.searchParams.get('namespace') ?? namespaces[0];
    const prefix = url.searchParams.get('prefix') ?? '';
    const key = url.searchParams.get('key');
    const base = { namespaces, namespace, prefix };
    if (namespace === undefined) return this.send(res, 200, 'text/html; charset=utf-8', keysPage({ ...base, error: 'no namespace to browse' }, caller.chrome));
    try {
      if (key !== null && key !== '') {
        const found = await this.console.getRecord(caller.principal, caller.authorization, namespace, key);
        return this.send(res, 200, 'text/html; charset=utf-8', keysPage({ ...base, record: { key, found } }, caller.chrome));
      }
      const listing = await this.console.listKeys(caller.principal, caller.authorization, namespace, prefix, url.searchParams.get('after') ?? undefined);
      return this.send(res, 200, 'text/html; charset=utf-8', keysPage({ ...base, listing }, caller.chrome));
    } catch (error) {
      const status = isOxiaError(error) ? (HTTP_STATUS[error.kind] ?? 502) : 502;
      return this.send(res, status, 'text/html; charset=utf-8', keysPage({ ...base, error: describe(error) }, caller.chrome));
    }
  }

  /** Server-sent events: the live part of the page, rendered, every second and after each journal entry. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    let pushing = false;
    let again = false;
    let debounce: NodeJS.Timeout | undefined;
    const push = async (): Promise<void> => {
      if (pushing) {
        again = true;
        return;
      }
      pushing = true;
      try {
        do {
          again = false;
          // The credentials are checked at every push: an expired token or a revoked right ends the stream.
          const caller = await this.caller(req);
          const view = await this.console.view(caller.principal, caller.authorization);
          if (res.writableEnded) return;
          res.write(`data: ${JSON.stringify(renderLive(view))}\n\n`);
        } while (again && !res.writableEnded);
      } catch (error) {
        this.log.debug('console stream ended', { error: describe(error) });
        stop();
        res.end();
      } finally {
        pushing = false;
      }
    };
    const timer = setInterval(() => void push(), PUSH_INTERVAL_MS);
    const unwatch = this.console.watchEvents(() => {
      if (debounce) return;
      debounce = setTimeout(() => {
        debounce = undefined;
        void push();
      }, EVENT_DEBOUNCE_MS);
    });
    const stop = (): void => {
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      unwatch();
      this.streams.delete(res);
    };
    req.on('close', stop);
    void push();
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requireSameOrigin(req);
    const form = new URLSearchParams(await this.body(req));
    const token = (form.get('token') ?? '').trim();
    if (token === '') return this.send(res, 400, 'text/html; charset=utf-8', loginPage('a token is required'));
    const authorization = `Bearer ${token}`;
    try {
      await this.authenticator.authenticate({ authorization, certificateSubject: this.certificateSubject(req) });
    } catch (error) {
      if (!isOxiaError(error, 'Unauthenticated')) throw error;
      return this.send(res, 401, 'text/html; charset=utf-8', loginPage(describe(error)));
    }
    const id = this.sessions.open(authorization, Date.now());
    res.setHeader('set-cookie', this.cookie(id, SESSION_TTL_MS / 1000));
    this.redirect(res, './');
  }

  private logout(req: IncomingMessage, res: ServerResponse): void {
    this.requireSameOrigin(req);
    this.sessions.close(cookieValue(req.headers.cookie, SESSION_COOKIE));
    res.setHeader('set-cookie', this.cookie('', 0));
    this.redirect(res, this.authenticator.requiresToken ? 'login' : './');
  }

  // ------------------------------------------------------------------ helpers

  private async caller(req: IncomingMessage): Promise<Caller> {
    const header = req.headers.authorization;
    const session = this.sessions.authorizationOf(cookieValue(req.headers.cookie, SESSION_COOKIE), Date.now());
    const authorization = header ?? session;
    const principal = await this.authenticator.authenticate({ authorization, certificateSubject: this.certificateSubject(req) });
    return { principal, authorization, chrome: { principal: principal.name, loggedInByToken: header === undefined && session !== undefined } };
  }

  private certificateSubject(req: IncomingMessage): Record<string, string> | undefined {
    const socket = req.socket as Partial<TLSSocket>;
    // Only a certificate the server verified counts (it asks for one only when it requires one).
    if (!this.options.tls?.clientAuth || typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
    return subjectOf(socket.getPeerCertificate());
  }

  /** Forms are posted by the console's own pages: a cross-site post (login CSRF) is refused. */
  private requireSameOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin === undefined || origin === 'null') {
      if (origin === 'null') throw new HttpRefusal(403, 'cross-origin form refused');
      return;
    }
    if (origin !== `${this.scheme}://${req.headers.host ?? ''}`) throw new HttpRefusal(403, 'cross-origin form refused');
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${this.options.tls ? '; Secure' : ''}`;
  }

  private body(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      let size = 0;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > FORM_BYTES_MAX) {
          reject(new HttpRefusal(413, 'form too large'));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private send(res: ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, {
      'content-type': contentType,
      'cache-control': 'no-store',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer a browser posts the login form with "Origin: null".
      'referrer-policy': 'same-origin',
    });
    res.end(body);
  }

  private redirect(res: ServerResponse, location: string): void {
    res.writeHead(303, { location, 'cache-control': 'no-store' });
    res.end();
  }

  private fail(res: ServerResponse, error: unknown): void {
    const status = error instanceof HttpRefusal ? error.status : isOxiaError(error) ? (HTTP_STATUS[error.kind] ?? 500) : 500;
    if (status === 500) this.log.error('console request failed', { error: error instanceof Error ? error.stack : String(error) });
    if (res.headersSent) {
      res.end();
      return;
    }
    const message = status === 500 ? 'internal error (see the coordinator log)' : describe(error);
    this.send(res, status, 'text/html; charset=utf-8', errorPage(status, message, {}));
  }
}
