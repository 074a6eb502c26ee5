// A TCP proxy on loopback for partition tests: listens on port 0 and forwards each connection
// to one target. It can part the link in two ways and heal it again:
// - 'refuse': existing connections are reset and new ones are reset as soon as accepted (a
//   peer that is down, or a firewall that rejects);
// - 'blackhole': nothing is forwarded and nothing is closed; bytes wait (TCP flow control
//   holds the senders) until the heal, when they flow on in order, as after a network outage
//   that ended before TCP gave up. New connections are accepted and wait too.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type PartitionMode = 'refuse' | 'blackhole';

/** One forwarded connection: both sockets and whether their bytes are held. */
class Link {
  private held = false;
  private readonly waiting = new Map<Socket, Buffer[]>();

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    onClosed: () => void,
  ) {
    this.forward(client, upstream);
    this.forward(upstream, client);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
      onClosed();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  private forward(from: Socket, to: Socket): void {
    this.waiting.set(from, []);
    from.on('data', (chunk: Buffer) => {
      if (this.held) {
        // Keep what was already read; reading stops so the sender is held back by TCP.
        this.waiting.get(from)!.push(chunk);
        from.pause();
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!this.held) from.resume();
        });
      }
    });
  }

  hold(): void {
    this.held = true;
    this.client.pause();
    this.upstream.pause();
  }

  release(): void {
    this.held = false;
    for (const [from, chunks] of this.waiting) {
      const to = from === this.client ? this.upstream : this.client;
      for (const c of chunks.splice(0)) to.write(c);
      from.resume();
    }
  }

  reset(): void {
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }
}

export class TcpProxy {
  private mode: PartitionMode | undefined;
  private readonly links = new Set<Link>();
  /** Connections accepted during a black hole, connected on the heal. */
  private readonly parked = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly target: string,
    readonly address: string,
  ) {}

  /** A proxy to `target` ("127.0.0.1:port") listening on a free loopback port. */
  static async start(target: string): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const proxy = new TcpProxy(server, target, `127.0.0.1:${port}`);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  get parted(): PartitionMode | undefined {
    return this.mode;
  }

  /** Parts the link (see the modes above); a second call with another mode switches to it. */
  partition(mode: PartitionMode): void {
    this.mode = mode;
    for (const link of this.links) {
      if (mode === 'refuse') link.reset();
      else link.hold();
    }
    if (mode === 'refuse') {
      for (const s of this.parked) s.resetAndDestroy();
      this.parked.clear();
    }
  }

  heal(): void {
    this.mode = undefined;
    for (const link of this.links) link.release();
    const parked = [...this.parked];
    this.parked.clear();
    for (const s of parked) this.connect(s);
  }

  async close(): Promise<void> {
    for (const link of this.links) link.reset();
    for (const s of this.parked) s.destroy();
    this.parked.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.mode === 'refuse') {
      socket.resetAndDestroy();
      return;
    }
    if (this.mode === 'blackhole') {
      this.parked.add(socket);
      socket.once('close', () => this.parked.delete(socket));
      return;
    }
    this.connect(socket);
  }

  private connect(client: Socket): void {
    const [host, port] = splitHostPort(this.target);
    const upstream = createConnection({ host, port, noDelay: true });
    upstream.pause();
    const link = new Link(client, upstream, () => this.links.delete(link));
    this.links.add(link);
    if (this.mode === 'blackhole') link.hold();
    else {
      client.resume();
      upstream.resume();
    }
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
