// The TCP proxy of the partition nemesis (tests/support/tcp-proxy.ts) on an echo server over
// loopback: it forwards; 'refuse' resets open connections and new ones; 'blackhole' holds the
// bytes without closing anything and delivers them, in order, on the heal; with a source for
// each connection (the process that opened it), it parts only the given sources' connections.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionSource } from '../support/connection-source.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const S = suite('tcp proxy');

let echo: Server;
let proxy: TcpProxy;
const sockets: Socket[] = [];

S.before.each(async () => {
  echo = createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  proxy = await TcpProxy.start(`127.0.0.1:${(echo.address() as { port: number }).port}`);
});

S.after.each(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

/** A connection through the proxy, with what came back and how it ended. */
function dial(): { socket: Socket; received: () => string; ended: () => string | undefined } {
  const [host, port] = proxy.address.split(':');
  const socket = createConnection({ host: host!, port: Number(port) });
  sockets.push(socket);
  let received = '';
  let ended: string | undefined;
  socket.on('data', (d) => (received += d.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (ended = e.code ?? 'error'));
  socket.on('close', () => (ended ??= 'closed'));
  return { socket, received: () => received, ended: () => ended };
}

S('forwards both ways', async () => {
  const c = dial();
  c.socket.write('hello');
  await waitFor(() => c.received() === 'hello', 'the echo');
});

S("'refuse' resets open connections and new ones; after the heal, new ones work", async () => {
  const open = dial();
  open.socket.write('a');
  await waitFor(() => open.received() === 'a', 'the echo');
  proxy.partition('refuse');
  await waitFor(() => open.ended() !== undefined, 'the open connection reset');
  const refused = dial();
  refused.socket.write('b');
  await waitFor(() => refused.ended() !== undefined, 'a new connection reset');
  assert.is(refused.received(), '');
  proxy.heal();
  const healed = dial();
  healed.socket.write('c');
  await waitFor(() => healed.received() === 'c', 'the echo after the heal');
});

S("'blackhole' holds the bytes without closing; the heal delivers them in order", async () => {
  const open = dial();
  open.socket.write('a');
  await waitFor(() => open.received() === 'a', 'the echo');
  proxy.partition('blackhole');
  open.socket.write('b');
  open.socket.write('c');
  const parked = dial();
  parked.socket.write('d');
  // Something observable to wait for that proves the proxy had the chance to forward: a
  // connection through a second proxy to the same echo server answers meanwhile.
  const other = await TcpProxy.start(proxy.target);
  try {
    const [host, port] = other.address.split(':');
    const probe = createConnection({ host: host!, port: Number(port) });
    sockets.push(probe);
    let echoed = '';
    probe.on('error', () => {});
    probe.on('data', (d) => (echoed += d.toString()));
    probe.write('probe');
    await waitFor(() => echoed === 'probe', 'the probe through another proxy');
  } finally {
    await other.close();
  }
  assert.is(open.received(), 'a');
  assert.is(parked.received(), '');
  assert.is(open.ended(), undefined);
  assert.is(parked.ended(), undefined);
  proxy.heal();
  await waitFor(() => open.received() === 'abc' && parked.received() === 'd', 'the held bytes after the heal');
});

S('with a source for each connection, a partition parts only the connections of the given sources', async () => {
  // This process is the only one dialling: the proxy must recognise it by its socket's owner.
  let sourced: TcpProxy | undefined;
  const seen: Array<string | undefined> = [];
  sourced = await TcpProxy.start(proxy.target, (socket) => {
    const who = connectionSource(socket.remotePort!, sourced!.port, new Map([['this-test', process.pid]]));
    seen.push(who);
    return who;
  });
  try {
    const [host, port] = sourced.address.split(':');
    const open = (): { socket: Socket; received: () => string; ended: () => boolean } => {
      const socket = createConnection({ host: host!, port: Number(port) });
      sockets.push(socket);
      let received = '';
      let ended = false;
      socket.on('data', (d) => (received += d.toString()));
      socket.on('error', () => (ended = true));
      socket.on('close', () => (ended = true));
      return { socket, received: () => received, ended: () => ended };
    };
    const first = open();
    first.socket.write('a');
    await waitFor(() => first.received() === 'a', 'the echo');
    assert.equal(seen, ['this-test']);
    sourced.partition('refuse', ['another-process']);
    first.socket.write('b');
    await waitFor(() => first.received() === 'ab', 'the echo, the partition being for someone else');
    sourced.partition('refuse', ['this-test']);
    await waitFor(() => first.ended(), 'the connection of the parted source reset');
    const second = open();
    await waitFor(() => second.ended(), 'a new connection of the parted source reset');
  } finally {
    await sourced.close();
  }
});

S.run();
