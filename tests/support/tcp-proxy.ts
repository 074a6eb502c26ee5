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
    /** Who opened the connection, if known. */
    readonly source: string | undefined,
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

/** Names the process that opened a connection accepted by the proxy (undefined: unknown). */
export type SourceOf = (socket: Socket) => string | undefined;

interface Cut {
  readonly mode: PartitionMode;
  /** Only connections from these sources; every connection when undefined. */
  readonly sources: ReadonlySet<string> | undefined;
}

export class TcpProxy {
  private cut: Cut | undefined;
  private readonly links = new Set<Link>();
  /** Connections accepted during a black hole, connected on the heal. */
  private readonly parked = new Map<Socket, string | undefined>();
  /** Connections accepted, by source ('?' when the SourceOf could not tell). */
  readonly accepted = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly target: string,
    readonly address: string,
    private readonly sourceOf: SourceOf | undefined,
  ) {}

  /** A proxy to `target` ("127.0.0.1:port") listening on a free loopback port. */
  static async start(target: string, sourceOf?: SourceOf): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const proxy = new TcpProxy(server, target, `127.0.0.1:${port}`, sourceOf);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  get parted(): PartitionMode | undefined {
    return this.cut?.mode;
  }

  /**
   * Parts the link (see the modes above) for the connections of `sources` (needs the proxy's
   * SourceOf), or for every connection. Replaces an earlier partition that was not healed.
   */
  partition(mode: PartitionMode, sources?: Iterable<string>): void {
    if (sources !== undefined && this.sourceOf === undefined) throw new Error('this proxy cannot tell where connections come from');
    this.heal();
    this.cut = { mode, sources: sources === undefined ? undefined : new Set(sources) };
    for (const link of this.links) {
      if (!this.isCut(link.source)) continue;
      if (mode === 'refuse') link.reset();
      else link.hold();
    }
  }

  heal(): void {
    this.cut = undefined;
    for (const link of this.links) link.release();
    const parked = [...this.parked];
    this.parked.clear();
    for (const [s, source] of parked) this.connect(s, source);
  }

  private isCut(source: string | undefined): boolean {
    const cut = this.cut;
    if (cut === undefined) return false;
    return cut.sources === undefined || (source !== undefined && cut.sources.has(source));
  }

  async close(): Promise<void> {
    for (const link of this.links) link.reset();
    for (const s of this.parked.keys()) s.destroy();
    this.parked.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const source = this.sourceOf?.(socket);
    const counted = source ?? '?';
    this.accepted.set(counted, (this.accepted.get(counted) ?? 0) + 1);
    if (this.isCut(source)) {
      if (this.cut!.mode === 'refuse') {
        socket.resetAndDestroy();
        return;
      }
      this.parked.set(socket, source);
      socket.once('close', () => this.parked.delete(socket));
      return;
    }
    this.connect(socket, source);
  }

  private connect(client: Socket, source: string | undefined): void {
    const [host, port] = splitHostPort(this.target);
    const upstream = createConnection({ host, port, noDelay: true });
    upstream.pause();
    const link = new Link(source, client, upstream, () => this.links.delete(link));
    this.links.add(link);
    if (this.isCut(source)) link.hold();
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
