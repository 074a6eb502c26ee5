/**
 * Oxia's `--profile` for Node: an HTTP endpoint, off unless asked for and on loopback by
 * default, that records a CPU profile or a sample of the allocations for some seconds, or
 * takes a heap snapshot, in the formats Chrome DevTools and VS Code open (.cpuprofile,
 * .heapprofile, .heapsnapshot). The paths are Go's pprof ones, so the habit
 * (`curl host:6060/debug/pprof/profile?seconds=30`) carries over; the files are V8's, not pprof's.
 *
 * One recording at a time: a second request while one runs is refused (409), since a heap
 * snapshot pauses the process and would show in a CPU profile as the process's own work.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { pipeline } from 'node:stream/promises';
import { getHeapSnapshot } from 'node:v8';
import type { Logger } from '../../application/ports/logger.js';
import { closeHttpServerNow, listenHttp } from '../http/http-server-lifecycle.js';

/** Go's pprof default. */
export const DEFAULT_PROFILE_SECONDS = 30;
/** Longer recordings are refused: the profile is held in memory until it ends. */
export const MAX_PROFILE_SECONDS = 600;
/** Mean bytes allocated between two samples of the allocation profile (V8's default). */
const ALLOCATION_SAMPLING_BYTES = 32 * 1024;

/** A recording over some seconds through the inspector: how it starts and what its stop returns. */
interface Recording {
  readonly what: string;
  readonly extension: string;
  start(session: Session): Promise<void>;
  stop(session: Session): Promise<unknown>;
}

const CPU_PROFILE: Recording = {
  what: 'CPU profile',
  extension: 'cpuprofile',
  async start(session) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  },
  stop: async (session) => (await session.post('Profiler.stop')).profile,
};

/**
 * Go's `allocs`: where memory was allocated, also memory already collected (short-lived
 * garbage is what costs collections), sampled about every ALLOCATION_SAMPLING_BYTES.
 */
const ALLOCATION_PROFILE: Recording = {
  what: 'allocation profile',
  extension: 'heapprofile',
  async start(session) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: ALLOCATION_SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  },
  stop: async (session) => (await session.post('HeapProfiler.stopSampling')).profile,
};

const RECORDINGS: Readonly<Record<string, Recording>> = {
  '/debug/pprof/profile': CPU_PROFILE,
  '/debug/pprof/allocs': ALLOCATION_PROFILE,
};

const INDEX = [
  'oxia-ts profiling',
  '  /debug/pprof/profile?seconds=N   CPU profile of the next N seconds (default 30), a .cpuprofile',
  '  /debug/pprof/allocs?seconds=N    allocations of the next N seconds (default 30), sampled, collected ones too, a .heapprofile',
  '  /debug/pprof/heap                heap snapshot, a .heapsnapshot (pauses the process while it is taken)',
  'Open the files in Chrome DevTools (Performance / Memory) or VS Code.',
  '',
].join('\n');

export class ProfilingHttpServer {
  private server: Server | undefined;
  private busy = false;
  /** Stops a running CPU recording early (close()). */
  private abort: AbortController | undefined;

  constructor(
    private readonly bind: { readonly host: string; readonly port: number },
    private readonly log: Logger,
  ) {}

  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => this.handle(req, res));
    const bound = await listenHttp(server, this.bind.host, this.bind.port, 'profiling');
    this.server = server;
    return bound;
  }

  async close(): Promise<void> {
    this.abort?.abort();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeHttpServerNow(server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://profiling');
    if (req.method !== 'GET') return void res.writeHead(405, { 'content-type': 'text/plain' }).end('GET only\n');
    if (url.pathname === '/debug/pprof/' || url.pathname === '/debug/pprof') {
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(INDEX);
    }
    const recording = RECORDINGS[url.pathname];
    if (recording === undefined && url.pathname !== '/debug/pprof/heap') {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found\n\n${INDEX}`);
    }
    let seconds = DEFAULT_PROFILE_SECONDS;
    if (recording !== undefined && url.searchParams.has('seconds')) {
      seconds = Number(url.searchParams.get('seconds'));
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PROFILE_SECONDS) {
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`seconds must be a number in (0, ${MAX_PROFILE_SECONDS}]\n`);
      }
    }
    if (this.busy) return void res.writeHead(409, { 'content-type': 'text/plain' }).end('a profile is being taken; try again when it is done\n');
    this.busy = true;
    const done = recording === undefined ? this.heapSnapshot(res) : this.record(recording, res, seconds);
    done
      .catch((error: unknown) => {
        this.log.error('profiling failed', { error: String(error) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`profiling failed: ${String(error)}\n`);
        else res.destroy();
      })
      .finally(() => (this.busy = false));
  }

  private async record(recording: Recording, res: ServerResponse, seconds: number): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    // The client hanging up ends the recording: nobody would receive it.
    res.once('close', () => abort.abort());
    const session = new Session();
    session.connect();
    try {
      await recording.start(session);
      this.log.info(`${recording.what} started`, { seconds });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        abort.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const profile = await recording.stop(session);
      if (res.destroyed) return;
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-disposition': `attachment; filename="oxia-ts-${process.pid}-${Date.now()}.${recording.extension}"`,
      });
      res.end(JSON.stringify(profile));
    } finally {
      session.disconnect();
      if (this.abort === abort) this.abort = undefined;
    }
  }

  private async heapSnapshot(res: ServerResponse): Promise<void> {
    this.log.info('taking a heap snapshot');
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-disposition': `attachment; filename="oxia-ts-${process.pid}-${Date.now()}.heapsnapshot"`,
    });
    await pipeline(getHeapSnapshot(), res);
  }
}
