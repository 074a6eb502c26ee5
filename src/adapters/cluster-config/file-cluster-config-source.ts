import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { inject, injectable } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import type { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import { Logger } from '../../application/ports/logger.js';
import { sameClusterConfig, type ClusterConfig } from '../../domain/cluster/cluster-config.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { parseClusterConfigYaml } from './cluster-config-yaml.js';
import { ListenerSet } from './listener-set.js';

export interface FileConfigSourceOptions {
  /** The YAML file (`--conf`). */
  readonly path: string;
  /** True with static discovery: the file must list the servers (see ClusterConfigCheck). */
  readonly serversRequired: boolean;
  /**
   * Besides file-system events, the file is re-read this often (default 5 s): events can be
   * missed (network file systems, a ConfigMap volume's symlink swap), a poll cannot.
   */
  readonly pollIntervalMs?: number;
}
export const FileConfigSourceOptions: ServiceIdentifier<FileConfigSourceOptions> = Symbol.for('oxia.FileConfigSourceOptions');

/** Events come in bursts (write, then rename); one re-read after the burst is enough. */
const EVENT_DEBOUNCE_MS = 50;
/** A config file is a few KiB; anything far larger is a mistake, not a config. */
const CONFIG_SIZE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The cluster config from a YAML file, watched for edits. The directory is watched rather than the
 * file, so that editors and tools that replace the file (write a copy, rename it over) are seen.
 */
@injectable()
export class FileClusterConfigSource implements ClusterConfigSource {
  private readonly listeners: ListenerSet<ClusterConfig>;
  private config: ClusterConfig | undefined;
  private lastText: string | undefined;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;
  private closed = false;

  constructor(
    @inject(FileConfigSourceOptions) private readonly options: FileConfigSourceOptions,
    @inject(Logger) private readonly logger: Logger,
  ) {
    this.listeners = new ListenerSet(logger, 'cluster config');
  }

  async start(): Promise<void> {
    const text = await this.read();
    if (text === undefined) throw new OxiaError('InvalidArgument', `cluster config file ${this.options.path} does not exist`);
    this.config = parseClusterConfigYaml(text, this.options.path, { serversRequired: this.options.serversRequired });
    this.lastText = text;
    try {
      this.watcher = watch(dirname(this.options.path), (_event, file) => {
        if (file === null || file === basename(this.options.path)) this.scheduleCheck();
      });
      this.watcher.on('error', (e) => {
        this.logger.warn('watching the cluster config directory failed; relying on polling', { path: this.options.path, error: e.message });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.logger.warn('cannot watch the cluster config directory; relying on polling', { path: this.options.path, error: String(e) });
    }
    this.pollTimer = setInterval(() => this.check(), this.options.pollIntervalMs ?? 5_000);
  }

  current(): ClusterConfig {
    if (!this.config) throw new Error('FileClusterConfigSource.current() before start()');
    return this.config;
  }

  watch(listener: (config: ClusterConfig) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.listeners.clear();
    await this.checking;
  }

  private scheduleCheck(): void {
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.check(), EVENT_DEBOUNCE_MS);
  }

  /** Re-reads the file; one read at a time, and one more if asked during it. */
  private check(): void {
    if (this.closed) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = this.reload().finally(() => {
      this.checking = undefined;
      if (this.recheck) {
        this.recheck = false;
        this.check();
      }
    });
  }

  private async reload(): Promise<void> {
    let text: string | undefined;
    try {
      text = await this.read();
    } catch (e) {
      this.logger.warn('reading the cluster config failed; keeping the current one', { path: this.options.path, error: String(e) });
      return;
    }
    if (this.closed || text === this.lastText) return;
    if (text === undefined) {
      this.logger.warn('the cluster config file is gone; keeping the current config', { path: this.options.path });
      this.lastText = undefined;
      return;
    }
    this.lastText = text;
    let next: ClusterConfig;
    try {
      next = parseClusterConfigYaml(text, this.options.path, { serversRequired: this.options.serversRequired });
    } catch (e) {
      this.logger.error('the edited cluster config is invalid and is ignored; the previous one stays in force', { error: (e as Error).message });
      return;
    }
    if (this.config && sameClusterConfig(next, this.config)) return;
    this.config = next;
    this.logger.info('cluster config changed', { path: this.options.path });
    this.listeners.notify(next);
  }

  private async read(): Promise<string | undefined> {
    try {
      const { size } = await stat(this.options.path);
      if (size > CONFIG_SIZE_BYTES_MAX) throw new OxiaError('InvalidArgument', `cluster config file ${this.options.path} is larger than ${CONFIG_SIZE_BYTES_MAX} bytes`);
      return await readFile(this.options.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}
