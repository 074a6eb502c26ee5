// The real `oxia-ts standalone` child process: it logs one "serving" line with its
// bound addresses, answers Health and GetShardAssignments as Oxia's standalone does,
// serves /metrics, stops cleanly on SIGTERM (exit 0), and comes back on its data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { request } from 'node:http';
import { HealthService, OxiaClientService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import { ShardAssignmentsRequest, ShardKeyRouter, type ShardAssignments } from '../../src/domain/wire/client.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from '../../src/domain/wire/health.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';

type AnyClient = grpc.Client & Record<'check' | 'getShardAssignments', (...args: any[]) => any>;
const clients: grpc.Client[] = [];
const servers: StandaloneProcess[] = [];

function client(def: grpc.ServiceDefinition, address: string): AnyClient {
  const c = new (grpc.makeGenericClientConstructor(def, 'x'))(address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  clients.push(c);
  return c;
}

test.after.each(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.kill9();
});

function healthOf(address: string, service: string): Promise<ServingStatus> {
  return new Promise((resolve, reject) =>
    client(HealthService, address).check({ service }, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null, r: HealthCheckResponse) =>
      e ? reject(e) : resolve(r.status),
    ),
  );
}

function firstAssignments(address: string): Promise<ShardAssignments> {
  return new Promise((resolve, reject) => {
    const call = client(OxiaClientService, address).getShardAssignments(ShardAssignmentsRequest.fromPartial({ namespace: 'default' }));
    call.on('data', (m: ShardAssignments) => {
      resolve(m);
      call.cancel();
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) reject(e);
    });
  });
}

function httpGet(address: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('standalone with 4 shards: serving line, health, assignments, metrics, SIGTERM -> exit 0', async () => {
  const server = await startStandalone({ shards: 4, kv: 'sqlite' });
  servers.push(server);
  assert.match(server.address, /^127\.0\.0\.1:\d+$/);
  assert.ok(!server.address.endsWith(':0'), 'the real port, not 0');

  const serving = server.logs().filter((l) => l.includes('"msg":"serving"'));
  assert.is(serving.length, 1, 'exactly one serving line');
  const line = JSON.parse(serving[0]!) as Record<string, unknown>;
  assert.is(line.publicAddress, server.address);
  assert.is(line.level, 'info');

  for (const service of ['', 'io.oxia.proto.v1.OxiaClient', 'io.streamnative.oxia.proto.OxiaClient']) {
    assert.is(await healthOf(server.address, service), ServingStatus.SERVING, `health of "${service}"`);
  }

  const assignments = await firstAssignments(server.address);
  const ns = assignments.namespaces['default'];
  assert.ok(ns, 'the default namespace');
  assert.is(ns.shardKeyRouter, ShardKeyRouter.XXHASH3);
  assert.is(ns.assignments.length, 4);
  const bucket = Math.floor(0xffffffff / 4) + 1;
  ns.assignments.forEach((a, i) => {
    assert.is(a.shard, BigInt(i));
    assert.is(a.leader, server.address);
    assert.is(a.shardBoundaries?.$case, 'int32HashRange');
    assert.is(a.shardBoundaries?.value.minHashInclusive, i * bucket);
    assert.is(a.shardBoundaries?.value.maxHashInclusive, i === 3 ? 4294967295 : (i + 1) * bucket - 1);
  });

  const metrics = await httpGet(server.metricsAddress, '/metrics');
  assert.is(metrics.status, 200);
  assert.match(metrics.body, /process_cpu_user_seconds_total/);
  assert.is((await httpGet(server.metricsAddress, '/nope')).status, 404);

  for (const c of clients.splice(0)) c.close();
  assert.is(await server.stop(), 0, 'SIGTERM exits 0');
  const logs = server.logs();
  assert.ok(logs.some((l) => l.includes('"msg":"stopped"') && l.includes('"role":"standalone"')), 'logged its stop');
  assert.ok(logs.every((l) => l.startsWith('{')), `only JSON lines: ${logs.filter((l) => !l.startsWith('{')).join(' | ')}`);
});

test('--kv level and restarts on the same data: after SIGTERM and after kill -9; SIGINT', async () => {
  const server = await startStandalone({ shards: 2, kv: 'level', extraArgs: ['--key-sorting', 'natural'] });
  servers.push(server);
  assert.is(await healthOf(server.address, ''), ServingStatus.SERVING);
  const before = server.address;

  await server.restart();
  assert.is(server.address, before, 'the same port by default');
  assert.is((await firstAssignments(server.address)).namespaces['default']?.assignments.length, 2);

  await server.kill9();
  await server.restart({ samePort: false });
  assert.is(await healthOf(server.address, ''), ServingStatus.SERVING);
  assert.is(await server.stop('SIGINT'), 0, 'SIGINT exits 0 too');
});

test('a port already in use: exit 1 with a message naming the address', async () => {
  const first = await startStandalone({ shards: 1 });
  servers.push(first);
  const second = startStandalone({ shards: 1, extraArgs: ['--public-addr', first.address] });
  const error = await second.then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(error, 'the second server must not start');
  assert.match(error.message, /exited before serving \(code 1/);
  assert.match(error.message, new RegExp(`cannot listen on ${first.address.replaceAll('.', '\\.')}`));
});

test.run();
