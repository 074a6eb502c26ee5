// A Kubernetes API server for tests, on 127.0.0.1:0, implementing the part of the core/v1 API the
// oxia-ts adapters use, with the semantics they rely on (see ADR/0008):
//
//   GET    /api/v1/namespaces/{ns}/{resource}              list (labelSelector, fieldSelector), with the
//                                                          list's resourceVersion
//   GET    /api/v1/namespaces/{ns}/{resource}?watch=true   watch: newline-delimited JSON events
//                                                          (ADDED/MODIFIED/DELETED, ERROR 410 "Expired" when
//                                                          the resourceVersion is older than the history kept),
//                                                          from a resourceVersion or from the current state,
//                                                          timeoutSeconds honoured
//   GET    /api/v1/namespaces/{ns}/{resource}/{name}       read, 404 NotFound
//   POST   /api/v1/namespaces/{ns}/{resource}              create, 409 AlreadyExists
//   PUT    /api/v1/namespaces/{ns}/{resource}/{name}       replace, 409 Conflict when metadata.resourceVersion
//                                                          is not the current one, 404 when absent
//   DELETE /api/v1/namespaces/{ns}/{resource}/{name}
//
// for resource in configmaps, pods, endpoints (core/v1, under /api/v1), and leases
// (coordination.k8s.io/v1, under /apis/coordination.k8s.io/v1; their MicroTime fields must carry
// exactly six decimals and leaseDurationSeconds must be positive, as the API server validates).
// resourceVersions come from one counter for all objects, as etcd revisions do. An update that
// changes nothing keeps the object's resourceVersion and sends no event, as on a real API server.
// Errors are metav1.Status objects. Tests change the world with apply()/remove()
// (what kubectl or the StatefulSet controller would do) and inject faults with closeWatches(),
// compactHistory(), failNext() and stallNext().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';

export type Resource = 'configmaps' | 'pods' | 'endpoints' | 'leases';
const KINDS: Record<Resource, string> = { configmaps: 'ConfigMap', pods: 'Pod', endpoints: 'Endpoints', leases: 'Lease' };
/** The API group version each resource is served under: its path prefix and the objects' apiVersion. */
const GROUP_VERSIONS: Record<Resource, string> = { configmaps: 'v1', pods: 'v1', endpoints: 'v1', leases: 'coordination.k8s.io/v1' };
const pathPrefix = (groupVersion: string): string => (groupVersion === 'v1' ? '/api/v1' : `/apis/${groupVersion}`);
/** metav1.MicroTime on the wire: RFC 3339 with exactly six decimals (the API server refuses anything else). */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body?: KubeObject;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface StoredEvent {
  readonly resource: Resource;
  readonly namespace: string;
  readonly type: EventType;
  readonly before: KubeObject | undefined;
  readonly after: KubeObject;
  readonly rv: number;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string;
  readonly matches: (o: KubeObject) => boolean;
  readonly res: ServerResponse;
  timer?: NodeJS.Timeout;
}

interface Fault {
  readonly method: string;
  readonly resource: Resource;
  remaining: number;
  readonly code: number;
  /** The write happens, but the client is told it failed: a response lost on the way back. */
  readonly afterApply: boolean;
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Fault[] = [];
  private revision = 1;
  /** Events at or below this revision are forgotten: watching from there answers 410 Gone. */
  private compactedRevision = 0;
  private uidCounter = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly historyMax: number,
  ) {}

  static async start(options: { historyMax?: number } = {}): Promise<FakeKubeApi> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const api = new FakeKubeApi(server, `http://127.0.0.1:${port}`, options.historyMax ?? 1000);
    server.on('request', (req, res) => api.handle(req, res));
    return api;
  }

  /** A client configuration pointing at this server, as a kubeconfig with one cluster and no credentials would. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ the world, as tests change it

  get(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(key(resource, namespace, name));
    return o && clone(o);
  }

  list(resource: Resource, namespace: string): KubeObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/${namespace}/`)).map(([, o]) => clone(o));
  }

  /** Creates or replaces an object (ignoring its resourceVersion) and notifies watchers. */
  apply(resource: Resource, namespace: string, obj: KubeObject): KubeObject {
    const k = key(resource, namespace, obj.metadata.name);
    const before = this.objects.get(k);
    return this.commit(resource, namespace, before, obj, before ? 'MODIFIED' : 'ADDED');
  }

  remove(resource: Resource, namespace: string, name: string): boolean {
    const k = key(resource, namespace, name);
    const before = this.objects.get(k);
    if (!before) return false;
    this.objects.delete(k);
    const after = clone(before);
    after.metadata.resourceVersion = String(++this.revision);
    this.record({ resource, namespace, type: 'DELETED', before, after, rv: this.revision });
    return true;
  }

  /** Ends every open watch stream, as an API server restart or an idle timeout in between would. */
  closeWatches(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) this.endWatch(w);
    return n;
  }

  /** Forgets all past events, as etcd compaction does: a watch from an older resourceVersion gets 410 Gone. */
  compactHistory(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  /**
   * The next `count` requests with this method on this resource fail with `code`. With
   * `afterApply` a write is carried out before the error is returned (the response was lost).
   */
  failNext(method: string, resource: Resource, count: number, code = 500, afterApply = false): void {
    this.faults.push({ method, resource, remaining: count, code, afterApply });
  }

  /** The next `count` such requests are never answered (until close()): a hung server or a dead network path. */
  stallNext(method: string, resource: Resource, count: number): void {
    this.faults.push({ method, resource, remaining: count, code: 0, afterApply: false });
  }

  openWatches(resource?: Resource): number {
    return [...this.watchers].filter((w) => resource === undefined || w.resource === resource).length;
  }

  // ------------------------------------------------------------------ HTTP

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.route(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        this.status(res, 500, 'InternalError', `fake API server failure: ${String(e)}`);
      }
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, rawBody: string): void {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? 'GET';
    let body: KubeObject | undefined;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody) as KubeObject;
      } catch {
        return this.status(res, 400, 'BadRequest', 'the request body is not JSON');
      }
    }
    this.requests.push({ method, path: url.pathname, query, ...(body ? { body } : {}) });
    if (this.requests.length > 10_000) this.requests.shift();

    const m = /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const resource = m?.[3] as Resource | undefined;
    if (!m || !resource || !(resource in KINDS) || `/${m[1]}` !== pathPrefix(GROUP_VERSIONS[resource])) {
      return this.status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    }
    const namespace = decodeURIComponent(m[2]!);
    const name = m[4] === undefined ? undefined : decodeURIComponent(m[4]);

    const fault = this.faults.find((f) => f.remaining > 0 && f.method === method && f.resource === resource);
    if (fault) {
      fault.remaining--;
      if (fault.code === 0) return;
      if (!fault.afterApply) return this.status(res, fault.code, 'InternalError', 'injected failure');
      const sink = new DiscardingResponse();
      this.dispatch(method, resource, namespace, name, query, body, sink as unknown as ServerResponse);
      return this.status(res, fault.code, 'InternalError', 'injected failure after the write was applied');
    }
    this.dispatch(method, resource, namespace, name, query, body, res);
  }

  private dispatch(
    method: string,
    resource: Resource,
    namespace: string,
    name: string | undefined,
    query: Record<string, string>,
    body: KubeObject | undefined,
    res: ServerResponse,
  ): void {
    if (name === undefined && method === 'GET') {
      const selector = this.selector(query, res);
      if (!selector) return;
      if (query.watch === 'true' || query.watch === '1') return this.watch(resource, namespace, selector, query, res);
      return this.json(res, 200, {
        kind: `${KINDS[resource]}List`,
        apiVersion: GROUP_VERSIONS[resource],
        metadata: { resourceVersion: String(this.revision) },
        items: this.list(resource, namespace).filter(selector),
      });
    }
    if (name === undefined && method === 'POST') return this.create(resource, namespace, body, res);
    if (name !== undefined && method === 'GET') {
      const o = this.get(resource, namespace, name);
      return o ? this.json(res, 200, o) : this.notFound(res, resource, name);
    }
    if (name !== undefined && method === 'PUT') return this.replace(resource, namespace, name, body, res);
    if (name !== undefined && method === 'DELETE') {
      const o = this.get(resource, namespace, name);
      if (!o) return this.notFound(res, resource, name);
      this.remove(resource, namespace, name);
      return this.json(res, 200, o);
    }
    this.status(res, 405, 'MethodNotAllowed', `${method} is not supported on this path`);
  }

  private create(resource: Resource, namespace: string, body: KubeObject | undefined, res: ServerResponse): void {
    if (!body?.metadata?.name) return this.status(res, 422, 'Invalid', 'metadata.name: Required value: name is required');
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
      return this.status(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (body.metadata.resourceVersion) return this.status(res, 500, 'InternalError', 'resourceVersion should not be set on objects to be created');
    if (!this.valid(resource, body, res)) return;
    const name = body.metadata.name;
    if (this.objects.has(key(resource, namespace, name))) {
      return this.status(res, 409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
    }
    this.json(res, 201, this.commit(resource, namespace, undefined, body, 'ADDED'));
  }

  private replace(resource: Resource, namespace: string, name: string, body: KubeObject | undefined, res: ServerResponse): void {
    if (!body?.metadata) return this.status(res, 400, 'BadRequest', 'the request body has no metadata');
    if (body.metadata.name !== name) return this.status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
    const before = this.objects.get(key(resource, namespace, name));
    if (!before) return this.notFound(res, resource, name);
    // ConfigMaps allow an unconditional update (no resourceVersion); with one, it must be the current one.
    const expected = body.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== before.metadata.resourceVersion) {
      return this.status(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: resource },
      );
    }
    if (!this.valid(resource, body, res)) return;
    // An update that changes nothing is not written: same resourceVersion, no event.
    if (isDeepStrictEqual(comparable(body), comparable(before))) return this.json(res, 200, clone(before));
    this.json(res, 200, this.commit(resource, namespace, before, body, 'MODIFIED'));
  }

  /** The validation the API server does on what the adapters send (for Leases: field formats). */
  private valid(resource: Resource, body: KubeObject, res: ServerResponse): boolean {
    if (resource !== 'leases') return true;
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    for (const field of ['acquireTime', 'renewTime']) {
      const v = spec[field];
      if (v !== undefined && v !== null && (typeof v !== 'string' || !MICRO_TIME.test(v))) {
        this.status(res, 400, 'BadRequest', `Lease in version "v1" cannot be handled as a Lease: spec.${field}: not a MicroTime (RFC 3339 with six decimals): ${JSON.stringify(v)}`);
        return false;
      }
    }
    const duration = spec.leaseDurationSeconds;
    if (duration !== undefined && (typeof duration !== 'number' || !Number.isInteger(duration) || duration <= 0)) {
      this.status(res, 422, 'Invalid', `Lease.coordination.k8s.io "${body.metadata.name}" is invalid: spec.leaseDurationSeconds: Invalid value: ${JSON.stringify(duration)}: must be greater than 0`);
      return false;
    }
    return true;
  }

  private commit(resource: Resource, namespace: string, before: KubeObject | undefined, obj: KubeObject, type: EventType): KubeObject {
    const after = clone(obj);
    after.apiVersion = GROUP_VERSIONS[resource];
    after.kind = KINDS[resource];
    after.metadata.namespace = namespace;
    after.metadata.resourceVersion = String(++this.revision);
    after.metadata.uid = before?.metadata.uid ?? `uid-${++this.uidCounter}`;
    after.metadata.creationTimestamp = before?.metadata.creationTimestamp ?? new Date().toISOString();
    this.objects.set(key(resource, namespace, after.metadata.name), after);
    this.record({ resource, namespace, type, before, after, rv: this.revision });
    return clone(after);
  }

  private record(e: StoredEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyMax) this.compactedRevision = this.history.shift()!.rv;
    for (const w of this.watchers) this.deliver(w, e);
  }

  private watch(resource: Resource, namespace: string, matches: (o: KubeObject) => boolean, query: Record<string, string>, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { resource, namespace, matches, res };
    const from = query.resourceVersion;
    if (from === undefined || from === '' || from === '0') {
      // No resourceVersion: the current state as synthetic ADDED events, then changes.
      for (const o of this.list(resource, namespace).filter(matches)) this.send(w, 'ADDED', o);
    } else {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv < this.compactedRevision) {
        this.send(w, 'ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${from} (${this.compactedRevision + 1})`,
          reason: 'Expired',
          code: 410,
        });
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > rv) this.deliver(w, e);
    }
    this.watchers.add(w);
    const timeoutSeconds = Number(query.timeoutSeconds);
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) w.timer = setTimeout(() => this.endWatch(w), timeoutSeconds * 1000);
    res.on('close', () => this.endWatch(w));
  }

  /** Sends an event as a watcher with a selector sees it: leaving the selection is a deletion, entering it an addition. */
  private deliver(w: Watcher, e: StoredEvent): void {
    if (e.resource !== w.resource || e.namespace !== w.namespace) return;
    const was = e.before !== undefined && w.matches(e.before);
    const is = w.matches(e.after);
    if (e.type === 'DELETED') {
      if (was) this.send(w, 'DELETED', e.after);
    } else if (was && is) this.send(w, 'MODIFIED', e.after);
    else if (is) this.send(w, 'ADDED', e.after);
    else if (was) this.send(w, 'DELETED', e.after);
  }

  private send(w: Watcher, type: EventType | 'ERROR', object: unknown): void {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private selector(query: Record<string, string>, res: ServerResponse): ((o: KubeObject) => boolean) | undefined {
    const tests: ((o: KubeObject) => boolean)[] = [];
    for (const term of splitSelector(query.labelSelector)) {
      let m: RegExpExecArray | null;
      if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term))) {
        const [, k, op, v] = m as unknown as [string, string, string, string];
        tests.push((o) => (op === '!=' ? o.metadata.labels?.[k] !== v : o.metadata.labels?.[k] === v));
      } else if ((m = /^!([\w./-]+)$/.exec(term))) {
        const k = m[1]!;
        tests.push((o) => o.metadata.labels?.[k] === undefined);
      } else if ((m = /^([\w./-]+)$/.exec(term))) {
        const k = m[1]!;
        tests.push((o) => o.metadata.labels?.[k] !== undefined);
      } else {
        this.status(res, 400, 'BadRequest', `unable to parse requirement: ${term}`);
        return undefined;
      }
    }
    for (const term of splitSelector(query.fieldSelector)) {
      const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!m) {
        this.status(res, 400, 'BadRequest', `field label not supported: ${term}`);
        return undefined;
      }
      const [, field, op, v] = m as unknown as [string, string, string, string];
      const get = (o: KubeObject) => (field === 'metadata.name' ? o.metadata.name : o.metadata.namespace);
      tests.push((o) => (op === '!=' ? get(o) !== v : get(o) === v));
    }
    return (o) => tests.every((t) => t(o));
  }

  private notFound(res: ServerResponse, resource: Resource, name: string): void {
    this.status(res, 404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, string>): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

const key = (resource: Resource, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;

/** What an update compares to decide whether it changes anything: the object without the fields the server sets. */
function comparable(o: KubeObject): unknown {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, namespace: _ns, ...meta } = metadata;
  return { ...rest, metadata: Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) };
}

function splitSelector(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** Stands in for a response nobody will read (a write whose answer is lost). */
class DiscardingResponse {
  writableEnded = false;
  writeHead(): this {
    return this;
  }
  flushHeaders(): void {}
  write(): boolean {
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  on(): this {
    return this;
  }
}

/** A pod as the StatefulSet controller creates it, enough for discovery. */
export function podObject(name: string, labels: Record<string, string>, extra: { ports?: { name: string; containerPort: number }[]; phase?: string } = {}): KubeObject {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: 'oxia', image: 'oxia', ports: extra.ports ?? [] }] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

export function configMapObject(name: string, data: Record<string, string>): KubeObject {
  return { metadata: { name }, data };
}
