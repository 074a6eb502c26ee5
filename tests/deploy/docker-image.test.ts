// deploy/docker checked for what would break the image (it cannot be built here: there is no
// Docker engine): the production install (`npm ci --omit=dev`) must hold every package the
// server loads at run time, the files the server needs must be copied and not excluded by the
// ignore file, and the image must offer what the Kubernetes manifests expect of it (the
// oxia-ts command, the user, the ports). Its default command is checked like any other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { assertNoProblems, flagProblems } from './support/cli-help.js';
import { filesUnder, readRepoFile, repoRoot } from './support/deploy-files.js';
import { kubernetesDir, loadKustomization, objectsOfKind, workloadSpec } from './support/kubernetes-objects.js';
import { validateFlagValues } from './support/role-settings.js';

const dockerfilePath = 'deploy/docker/Dockerfile';
const pkg = JSON.parse(readRepoFile('package.json')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
};

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the build stage (FROM starts a new one). */
  readonly stage: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending = pending === '' ? line : `${pending} ${line}`;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(pending);
    if (!m?.[1] || m[2] === undefined) throw new Error(`${dockerfilePath}: cannot read "${pending}"`);
    const keyword = m[1].toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2], stage });
    pending = '';
  }
  return out;
}

const all = instructions(readRepoFile(dockerfilePath));
const finalStage = Math.max(...all.map((i) => i.stage));
const runtime = all.filter((i) => i.stage === finalStage);

function jsonArray(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  assert.ok(Array.isArray(parsed) && parsed.every((x) => typeof x === 'string'), `exec form (JSON array): ${args}`);
  return parsed as string[];
}

test('the runtime image is node:20-slim with a production install', () => {
  assert.is(runtime[0]?.args.split(/\s+/)[0], 'node:20-slim', 'the final stage starts FROM node:20-slim');
  const install = all.filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  assert.is(install.length, 1, 'one npm ci');
  assert.match(install[0]?.args ?? '', /--omit=dev\b/, 'without devDependencies');
  // The server runs its TypeScript sources through tsx: it must survive --omit=dev.
  assert.ok(pkg.dependencies.tsx, 'tsx is a runtime dependency');
  assert.not.ok(pkg.devDependencies?.tsx, 'tsx is not (also) a devDependency');
});

test('the image holds what the bin needs at run time, and the ignore file lets it through', () => {
  const copied = all.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from=')).flatMap((i) => {
    const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    return words.slice(0, -1);
  });
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src']) {
    assert.ok(copied.includes(needed), `COPY ${needed}`);
  }
  // BuildKit's per-Dockerfile ignore file: everything excluded except what is re-included.
  const ignore = readRepoFile(`${dockerfilePath}.dockerignore`)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.is(ignore[0], '**', 'the ignore file starts by excluding everything');
  for (const path of copied) {
    assert.ok(ignore.includes(`!${path}`) || ignore.includes(`!${path}/**`), `${path} is re-included by the ignore file`);
  }
  // tsx is told to use tsconfig.json; a base config it extends would have to be copied too.
  assert.not.ok('extends' in (JSON.parse(readRepoFile('tsconfig.json')) as object), 'tsconfig.json extends nothing');
});

/** The packages a module loads at run time (type-only imports and exports are erased). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readRepoFile(file), ts.ScriptTarget.ES2022, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) specifiers.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

test('every package the sources load at run time is a dependency (npm ci --omit=dev installs it)', () => {
  const builtins = new Set(builtinModules);
  const files = [...filesUnder(join(repoRoot, 'src')).filter((f) => /\.(ts|mts|mjs|js)$/.test(f) && !f.endsWith('.d.ts')), pkg.bin['oxia-ts'] ?? ''];
  const missing = new Set<string>();
  let seen = 0;
  for (const file of files) {
    for (const specifier of runtimeImports(file)) {
      const name = packageOf(specifier);
      if (name === undefined || specifier.startsWith('node:') || builtins.has(name)) continue;
      seen++;
      if (!pkg.dependencies[name]) missing.add(`${name} (${file})`);
    }
  }
  assert.ok(seen > 20, `imports were found (${seen})`);
  assert.equal([...missing], [], 'packages loaded at run time but missing from "dependencies"');
});

test('the image offers what the manifests run: `oxia-ts` on the PATH, user 1000, the ports', () => {
  const link = runtime.find((i) => i.keyword === 'RUN' && /\bln -s\b/.test(i.args));
  const m = /ln -s (\S+) (\S+)/.exec(link?.args ?? '');
  const workdir = runtime.find((i) => i.keyword === 'WORKDIR')?.args ?? '';
  assert.is(m?.[1], posix.join(workdir, pkg.bin['oxia-ts'] ?? '(no bin)'), 'the link points at the package bin in the image');
  assert.is(m?.[2], '/usr/local/bin/oxia-ts', 'oxia-ts is on the PATH');
  assert.equal(jsonArray(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]'), ['oxia-ts']);
  // The node images' unprivileged user "node" has uid and gid 1000.
  assert.is(runtime.filter((i) => i.keyword === 'USER').at(-1)?.args, 'node');

  const exposed = new Set(runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number)));
  const deployment = loadKustomization(kubernetesDir);
  for (const workload of [...objectsOfKind(deployment, 'StatefulSet'), ...objectsOfKind(deployment, 'Deployment')]) {
    const spec = workloadSpec(workload).template.spec;
    assert.is(spec.securityContext?.runAsUser, 1000, `${workload.metadata.name} runs as the image's user`);
    for (const c of spec.containers) {
      assert.equal(c.command, jsonArray(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]'), `${workload.metadata.name}: the image's command`);
      for (const p of c.ports ?? []) {
        if (workload.kind === 'StatefulSet') assert.ok(exposed.has(p.containerPort), `EXPOSE ${p.containerPort} (${workload.metadata.name} ${p.name})`);
      }
    }
  }
});

test('the image\'s default command is a valid standalone server listening beyond the container', () => {
  const cmd = jsonArray(runtime.find((i) => i.keyword === 'CMD')?.args ?? '[]');
  const [subcommand = '', ...flags] = cmd;
  assert.is(subcommand, 'standalone');
  assertNoProblems(flagProblems('CMD', subcommand, flags));
  assertNoProblems(validateFlagValues('CMD', subcommand, flags));
  assert.ok(flags.includes('--public-addr=0.0.0.0:6648'), 'listens on every interface (loopback is unreachable from outside a container)');
  const volume = runtime.find((i) => i.keyword === 'VOLUME');
  const mount = volume ? jsonArray(volume.args)[0] : undefined;
  for (const flag of flags.filter((f) => f.startsWith('--data-dir=') || f.startsWith('--wal-dir='))) {
    assert.ok(mount && flag.split('=')[1]?.startsWith(`${mount}/`), `${flag} is on the image's volume ${mount}`);
  }
});

test.run();
