#!/usr/bin/env node
// The package's `bin`: plain JavaScript so that Node can start it without a build step.
// It runs the compiled CLI from dist/ when that build matches the sources (see
// compiled-build.mjs), else the TypeScript sources through tsx's loader. For tsx the
// project's own tsconfig is named explicitly: tsx would otherwise read the one in the
// caller's working directory (or none), and the sources need experimentalDecorators.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMPILED_MAIN, PACKAGE_ROOT, buildIsFresh } from './compiled-build.mjs';

let main;
if (buildIsFresh()) {
  ({ main } = await import(pathToFileURL(COMPILED_MAIN).href));
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: join(PACKAGE_ROOT, 'tsconfig.json') });
  ({ main } = await import('./main.ts'));
}
process.exit(await main(process.argv.slice(2)));
