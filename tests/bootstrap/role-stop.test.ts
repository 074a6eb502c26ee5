// How the roles stop: StopSequence runs the steps set so far in the declared order, each once,
// past failing ones; and a storage server whose start fails halfway closes what it opened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinoLogger } from '../../src/adapters/logging/pino-logger.js';
import { parseServerConfig } from '../../src/bootstrap/config/server-config.js';
import { startServer } from '../../src/bootstrap/roles/server.js';
import { StopSequence } from '../../src/bootstrap/roles/stop-sequence.js';

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

function memoryLog(): { lines: LogLine[]; destination: { write(line: string): void } } {
  const lines: LogLine[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } };
}

function listenOn(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

test('steps run in the declared order, only those set, each once, past a failing one', async () => {
  const log = memoryLog();
  const stops = new StopSequence(new PinoLogger({ level: 'info', destination: log.destination }), ['grpc', 'node', 'client', 'metrics']);
  const ran: string[] = [];
  // Set in start order, which is not the stop order; 'client' is never set (its part did not start).
  stops.set('metrics', async () => void ran.push('metrics'));
  stops.set('node', async () => {
    ran.push('node');
    throw new Error('disk gone');
  });
  stops.set('grpc', async () => void ran.push('grpc'));

  const first = stops.close();
  assert.is(stops.close(), first, 'a second close waits for the same stop');
  await first;
  await stops.unwind();
  assert.equal(ran, ['grpc', 'node', 'metrics']);
  const failure = log.lines.find((l) => l.msg === 'error while stopping');
  assert.is(failure?.step, 'node');
  assert.equal(
    log.lines.map((l) => l.msg).filter((m) => m === 'stopping' || m === 'stopped'),
    ['stopping', 'stopped'],
  );
});

test('a server whose internal address is taken fails to start and frees its public address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-role-stop-'));
  const taken = await listenOn('127.0.0.1', 0);
  try {
    const takenPort = (taken.address() as { port: number }).port;
    const config = parseServerConfig({
      'public-addr': '127.0.0.1:0',
      'internal-addr': `127.0.0.1:${takenPort}`,
      'metrics-addr': '127.0.0.1:0',
      'data-dir': join(dir, 'db'),
      'wal-dir': join(dir, 'wal'),
    });
    const log = memoryLog();
    let failure: unknown;
    await startServer(config, { logDestination: log.destination }).then(
      (running) => running.close(),
      (error: unknown) => (failure = error),
    );
    assert.instance(failure, Error);
    assert.match((failure as Error).message, `127.0.0.1:${takenPort}`);

    const listening = log.lines.find((l) => l.msg === 'listening' && typeof l.address === 'string');
    assert.ok(listening, 'the public listener was bound before the internal one failed');
    const publicPort = Number(String(listening.address).split(':').pop());
    assert.ok(publicPort > 0 && publicPort !== takenPort);
    // Bindable again only if the failed start closed it.
    await closeServer(await listenOn('127.0.0.1', publicPort));
  } finally {
    await closeServer(taken);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
