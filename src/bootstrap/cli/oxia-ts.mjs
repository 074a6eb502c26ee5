#!/usr/bin/env node
// The package's `bin`: plain JavaScript so that Node can start it without a build
// step. It registers tsx's loader, then runs the TypeScript CLI. The project's own
// tsconfig is named explicitly: tsx would otherwise read the one in the caller's
// working directory (or none), and the sources need experimentalDecorators.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
const { main } = await import('./main.ts');
process.exit(await main(process.argv.slice(2)));
