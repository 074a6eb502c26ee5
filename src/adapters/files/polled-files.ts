/**
 * Noticing that some files changed, for configuration re-read while the process runs
 * (TLS certificates, the authorization policy). The files are polled (stat) rather than
 * watched with inotify: rotation usually replaces a file (rename, a Kubernetes Secret's or
 * ConfigMap's symlink swap), which an inotify watch on the old inode would not see. After
 * a change the callback runs once the files have been quiet for a short pause, so that
 * files replaced together (a certificate and its key) are read together.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** How often the files are looked at; a change is acted on within about this. */
export const FILE_POLL_INTERVAL_MS = 1_000;
/** Quiet time after a change before the callback runs. */
const SETTLE_MS = 200;

export class PolledFiles {
  private settle: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      if (!this.closed) this.onChange();
    }, SETTLE_MS);
    this.settle.unref();
  };

  constructor(
    private readonly files: readonly string[],
    private readonly onChange: () => void,
    pollIntervalMs = FILE_POLL_INTERVAL_MS,
  ) {
    for (const file of files) watchFile(file, { persistent: false, interval: pollIntervalMs }, this.changed);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    for (const file of this.files) unwatchFile(file, this.changed);
  }
}
