// The client library as users run it: the compiled build (dist/) when it matches the sources,
// else the sources (through the tsx loader the benches run under). The bench process itself
// runs through tsx, whose per-closure wrappers cost the client 15-20% of its CPU (ADR 0015).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT, buildIsFresh } from '../../src/bootstrap/cli/compiled-build.mjs';

type ClientModule = typeof import('../../src/adapters/client/index.js');

export async function loadClientModule(): Promise<{ module: ClientModule; compiled: boolean }> {
  if (buildIsFresh()) {
    const url = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'adapters', 'client', 'index.js')).href;
    return { module: (await import(url)) as ClientModule, compiled: true };
  }
  return { module: await import('../../src/adapters/client/index.js'), compiled: false };
}
