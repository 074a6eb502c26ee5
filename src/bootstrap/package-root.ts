import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (package.json, src/, dist/): the nearest folder above this
 * module that holds a package.json. Found by walking up rather than by a fixed number of
 * `..` because this module runs from src/bootstrap/ (tsx) and from dist/src/bootstrap/
 * (the compiled build) alike.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}
