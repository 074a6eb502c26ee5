/**
 * Puts and gets of the three systems behind one shape, each through the client an application
 * would use: etcd3, node-zookeeper-client, oxia-ts's OxiaClient. Loaded on demand, so a load
 * generator only loads its own system's client.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { SystemName } from '../options.js';
import { buildIsFresh, PACKAGE_ROOT } from '../../../../src/bootstrap/cli/compiled-build.mjs';

export interface KvDriver {
  /** Overwrites an existing key. */
  put(key: string, value: Buffer): Promise<void>;
  /** The key's value; rejects when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  /** Writes a key that may not exist yet (the prefill). */
  create(key: string, value: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** TLS and a bearer token for the oxia-ts client, as files (the load plan crosses a process boundary as JSON). */
export interface OxiaConnection {
  /** CA certificate (PEM) the server's certificate must come from: TLS when given. */
  readonly caFile?: string;
  /** The name the server's certificate must carry. */
  readonly serverName?: string;
  /** A file holding the token sent on every call. */
  readonly tokenFile?: string;
}

/** How long connecting (and the first shard assignments, the first session) may take. */
const CONNECT_TIMEOUT_MS = 30_000;

export async function connectDriver(system: SystemName, endpoints: readonly string[], oxia: OxiaConnection = {}): Promise<KvDriver> {
  switch (system) {
    case 'etcd':
      return connectEtcd(endpoints);
    case 'zookeeper':
      return connectZooKeeper(endpoints);
    case 'oxia-ts':
      return connectOxia(endpoints, oxia);
  }
}

async function connectEtcd(endpoints: readonly string[]): Promise<KvDriver> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
  const path = (key: string) => `bench/${key}`;
  const put = async (key: string, value: Buffer): Promise<void> => {
    await client.put(path(key)).value(value).exec();
  };
  return {
    put,
    create: put,
    // Linearizable: etcd3 asks for serializable reads only when told to.
    get: async (key) => {
      const value = await client.get(path(key)).buffer();
      if (value === null) throw new Error(`etcd: no key ${path(key)}`);
      return value;
    },
    close: async () => client.close(),
  };
}

async function connectZooKeeper(endpoints: readonly string[]): Promise<KvDriver> {
  const zookeeper = (await import('node-zookeeper-client')).default;
  const client = zookeeper.createClient(endpoints.join(','), { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ZooKeeper: no session within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  const path = (key: string) => `/bench/${key}`;
  await new Promise<void>((resolve, reject) => client.mkdirp('/bench', (e) => (e ? reject(e) : resolve())));
  const setData = (key: string, value: Buffer) =>
    new Promise<void>((resolve, reject) => client.setData(path(key), value, -1, (e) => (e ? reject(e) : resolve())));
  return {
    put: setData,
    get: (key) => new Promise((resolve, reject) => client.getData(path(key), (e, data) => (e ? reject(e) : resolve(data)))),
    create: (key, value) =>
      new Promise<void>((resolve, reject) =>
        client.create(path(key), value, (e) => {
          if (!e) return resolve();
          if ('getCode' in e && e.getCode() === zookeeper.Exception.NODE_EXISTS) return setData(key, value).then(resolve, reject);
          reject(e);
        }),
      ),
    close: async () => client.close(),
  };
}

type ClientModule = typeof import('../../../../src/adapters/client/index.js');

/** The client as the servers run: the compiled build when fresh (see compiled-build.mjs), else the sources. */
async function oxiaClientModule(): Promise<ClientModule> {
  if (buildIsFresh()) return (await import(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'adapters', 'client', 'index.js')).href)) as ClientModule;
  return import('../../../../src/adapters/client/index.js');
}

async function connectOxia(endpoints: readonly string[], oxia: OxiaConnection): Promise<KvDriver> {
  const { OxiaClient, TokenAuthentication } = await oxiaClientModule();
  const client = await OxiaClient.connect(endpoints[0]!, {
    initTimeoutMs: CONNECT_TIMEOUT_MS,
    ...(oxia.caFile !== undefined ? { tls: { ca: readFileSync(oxia.caFile), serverName: oxia.serverName } } : {}),
    ...(oxia.tokenFile !== undefined ? { authentication: new TokenAuthentication(readFileSync(oxia.tokenFile, 'utf8').trim()) } : {}),
  });
  const put = async (key: string, value: Buffer): Promise<void> => {
    await client.put(key, value);
  };
  return {
    put,
    create: put,
    get: async (key) => {
      const { value } = await client.get(key);
      if (value === undefined) throw new Error(`oxia-ts: no value for ${key}`);
      return value;
    },
    close: () => client.close(),
  };
}
