/**
 * Child processes of the comparison (etcd members, ZooKeeper JVMs, the load generator) and
 * free loopback ports for them. Every child is tracked, so that the bench's exit, whether
 * normal, on an error or on Ctrl-C, never leaves a server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { stopChild, type Exit } from '../../../src/bootstrap/dev-cluster/role-process.js';

export interface ServerProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly exited: Promise<Exit>;
  readonly running: boolean;
  /** The last lines of output, for error messages. */
  tail(): string;
  /** SIGTERM, SIGKILL after `timeoutMs`; resolves once it has exited. */
  stop(timeoutMs: number): Promise<Exit>;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Receives stdout and stderr. */
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const LINES_KEPT = 40;
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs every child still running (synchronous: also usable from an 'exit' handler). */
export function killAllChildren(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

/** Starts a child whose output goes to a log file (the last lines are kept for messages). */
export function spawnServer(options: SpawnOptions): ServerProcess {
  installExitHook();
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      children.delete(child);
      resolve({ code, signal });
    });
    // A command that cannot be started emits 'error' and no 'exit'.
    child.once('error', () => {
      running = false;
      children.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      log.write(chunk);
      lines.push(...chunk.split('\n').filter((l) => l !== ''));
      if (lines.length > LINES_KEPT) lines.splice(0, lines.length - LINES_KEPT);
    });
  }
  void exited.then(() => log.end());
  return {
    name: options.name,
    pid: child.pid,
    exited,
    get running() {
      return running;
    },
    tail: () => lines.join('\n'),
    stop: async (timeoutMs) => (running ? stopChild(child, exited, timeoutMs) : exited),
  };
}

/** Registers a child started elsewhere (the load generator) for the exit hook. */
export function track(child: ChildProcess): void {
  installExitHook();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/**
 * `count` distinct free ports on 127.0.0.1. etcd and ZooKeeper take ports from their
 * configuration, not port 0, so the ports are reserved by listening, then released just before
 * the servers start: another process could take one in between, which a start then reports.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('a listening socket without a port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** The absolute path of `command` on PATH, or undefined. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
