// A filesystem of its own for disk-full tests: a tmpfs of a few MiB mounted on a fresh
// directory (needs root or CAP_SYS_ADMIN), unmounted and removed when the test process exits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted = new Set<string>();
process.on('exit', () => {
  for (const dir of mounted) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // left for the machine's own cleanup
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

export interface SmallFilesystem {
  readonly dir: string;
  /** Bytes free for unprivileged writers now. */
  freeBytes(): number;
  /** Fills the filesystem with a file until only about `leaveBytes` are free. */
  fill(name: string, leaveBytes: number): void;
  /** Frees what fill() took. */
  free(name: string): void;
  unmount(): void;
}

/** A tmpfs of `sizeMiB`, or undefined when this process may not mount one (the caller says why it skips). */
export function mountSmallFilesystem(sizeMiB: number): SmallFilesystem | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-small-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  mounted.add(dir);
  const freeBytes = (): number => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    freeBytes,
    fill(name, leaveBytes) {
      const size = freeBytes() - leaveBytes;
      if (size > 0) writeFileSync(join(dir, name), Buffer.alloc(size));
    },
    free(name) {
      rmSync(join(dir, name), { force: true });
    },
    unmount() {
      if (!mounted.delete(dir)) return;
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
