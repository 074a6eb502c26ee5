#!/usr/bin/env node
// The package's `bin`: plain JavaScript so that Node can start it without a build
// step. It registers tsx's loader, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exit(await main(process.argv.slice(2)));
