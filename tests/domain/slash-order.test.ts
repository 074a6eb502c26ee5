// Oxia's CompareWithSlash, the order in which the official clients merge results of
// several shards (ADR 0006, "Client merge order").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keyComparator } from '../../src/domain/keys/key-encoder.js';
import { compareWithSlash } from '../../src/domain/keys/slash-order.js';
import { rng } from './db-harness.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const sorted = (keys: string[]) => [...keys].sort(compareWithSlash);
const cmp = (a: string, b: string) => sign(compareWithSlash(a, b));
const show = (a: string, b: string) => `${JSON.stringify(a)} ? ${JSON.stringify(b)}`;

// ---- the example -------------------------------------------------------------------

test('a key ending at a level sorts before keys going deeper: the issue example', () => {
  const keys = ['/b/ab', '/a/b/c', '/aa/a', '/b', '/a/b', '/aa', '/b/a', '/a'];
  const clientOrder = ['/a', '/aa', '/b', '/a/b', '/a/b/c', '/aa/a', '/b/a', '/b/ab'];
  assert.equal(sorted(keys), clientOrder);
  // It is neither the storage order of a hierarchical namespace nor of a natural one.
  assert.equal([...keys].sort(keyComparator('hierarchical')), ['/a', '/aa', '/b', '/aa/a', '/a/b', '/b/a', '/b/ab', '/a/b/c']);
  assert.equal([...keys].sort(keyComparator('natural')), ['/a', '/a/b', '/a/b/c', '/aa', '/aa/a', '/b', '/b/a', '/b/ab']);
});

// ---- the cases of the official Node client's test/compare.test.ts, one test each ------------

test('official: identical strings, the empty one included, compare equal', () => {
  assert.is(cmp('a/b/c', 'a/b/c'), 0);
  assert.is(cmp('', ''), 0);
});

test('official: at the same boundary the key that ends sorts before the one that goes on', () => {
  assert.is(cmp('a', 'a/b'), -1);
  assert.is(cmp('a/b', 'a'), 1);
});

test('official: segments compare, not raw characters ("a1" < "a/b", though "/" < "1")', () => {
  assert.is(cmp('a1', 'a/b'), -1);
  assert.is(cmp('a/b', 'a1'), 1);
  assert.ok('a/b' < 'a1', 'natural order says the opposite');
});

test('official: common prefix layout /test/..., /test/aa before /test/a/b', () => {
  const keys = ['/test/a/b/c', '/test/aa/a', '/test/a', '/test/a/b', '/test/aa'];
  assert.equal(sorted(keys), ['/test/a', '/test/aa', '/test/a/b', '/test/a/b/c', '/test/aa/a']);
});

test('official: antisymmetric over the sample keys', () => {
  const samples = ['', 'a', 'a/b', 'a/bb', 'a/b/c', 'b', '/x/y'];
  for (const a of samples) for (const b of samples) assert.is(cmp(a, b), -cmp(b, a), show(a, b));
});

// ---- Oxia's Go vectors (common/compare/compare_with_slash_test.go) ----------------------------

test('Oxia Go vectors', () => {
  const vectors: [string, string, number][] = [
    ['aaaaa', 'aaaaa', 0],
    ['aaaaa', 'zzzzz', -1],
    ['bbbbb', 'aaaaa', 1],
    ['aaaaa', '', 1],
    ['', 'aaaaaa', -1],
    ['', '', 0],
    ['aaaaa', 'aaaaaaaaaaa', -1],
    ['aaaaaaaaaaa', 'aaa', 1],
    ['a', '/', -1],
    ['/', 'a', 1],
    ['/aaaa', '/bbbbb', -1],
    ['/aaaa', '/aa/a', -1],
    ['/aaaa/a', '/aaaa/b', -1],
    ['/aaaa/a/a', '/bbbbbbbbbb', 1],
    ['/aaaa/a/a', '/aaaa/bbbbbbbbbb', 1],
    ['/a/b/a/a/a', '/a/b/a/b', 1],
  ];
  for (const [a, b, expected] of vectors) {
    assert.is(cmp(a, b), expected, show(a, b));
    assert.is(cmp(b, a), -expected, show(b, a));
  }
});

// ---- edge cases ------------------------------------------------------------------------------

test('empty segments: "//" is a level with an empty name, the smallest name there is', () => {
  assert.is(cmp('a//b', 'a/a/b'), -1);
  assert.is(cmp('//', '/a'), 1, '"//" goes one level deeper than "/a"');
  assert.is(cmp('//', '/a/'), -1, 'same depth: empty segment before "a"');
  assert.is(cmp('/', ''), 1);
  assert.is(cmp('/', '//'), -1);
  assert.equal(sorted(['a/b', 'a//b', 'a//', 'a/', 'a', '//', '/']), ['a', '/', '//', 'a/', 'a/b', 'a//', 'a//b']);
});

test('trailing slash: "a/" goes one level deeper than "a" and sorts first at that level', () => {
  assert.is(cmp('a', 'a/'), -1);
  assert.is(cmp('a/', 'b'), 1, 'a deeper key sorts after any key ending at the level above');
  assert.is(cmp('a/', 'a/b'), -1);
  assert.is(cmp('a/', 'a/a/'), -1);
  assert.is(cmp('a/b', 'a/'), 1);
  assert.is(cmp('/x/y/', '/x/y/'), 0);
});

test('equal prefixes: the shorter segment first, a segment before its extension', () => {
  assert.is(cmp('ab', 'abc'), -1);
  assert.is(cmp('a/bc', 'a/b'), 1);
  assert.is(cmp('/x/y', '/x/y/'), -1);
  assert.is(cmp('/x/ab/c', '/x/abc/c'), -1);
  assert.is(cmp('/x/abc/c', '/x/ab/cc'), 1);
});

test('characters compare by UTF-16 code unit, as in the official Node client', () => {
  assert.is(cmp('é', 'z'), 1);
  // U+1F600 is the surrogate pair D83D DE00, below U+FFFD in UTF-16. Oxia's Go function
  // compares UTF-8 bytes (F0.. > EF..) and orders these two the other way.
  assert.is(cmp('/a/\u{1F600}', '/a/\uFFFD'), -1);
  assert.is(cmp('\u{1F600}/x', '\uFFFD/x'), -1);
});

// ---- properties ----------------------------------------------------------------------------

/** The definition restated recursively on slices, with JavaScript's string comparison. */
function reference(a: string, b: string): number {
  if (a === '' || b === '') return sign(a.length - b.length);
  const sa = a.indexOf('/');
  const sb = b.indexOf('/');
  if (sa < 0 && sb < 0) return a === b ? 0 : a < b ? -1 : 1;
  if (sa < 0) return -1;
  if (sb < 0) return 1;
  const headA = a.slice(0, sa);
  const headB = b.slice(0, sb);
  if (headA !== headB) return headA < headB ? -1 : 1;
  return reference(a.slice(sa + 1), b.slice(sb + 1));
}

const ALPHABET = ['a', 'b', 'z', '/', '/', '/', '0', '~', 'é', '\uffff', '\ue000', '😀', '\x01'];
function randomKey(next: () => number): string {
  let s = '';
  for (let n = Math.floor(next() * 9); n > 0; n--) s += ALPHABET[Math.floor(next() * ALPHABET.length)]!;
  return s;
}

test('random keys: equal to the recursive definition; zero only for equal keys; a total order', () => {
  const next = rng(41);
  for (let i = 0; i < 5000; i++) {
    const a = randomKey(next);
    const b = next() < 0.1 ? a : randomKey(next);
    const c = randomKey(next);
    assert.is(cmp(a, b), reference(a, b), show(a, b));
    assert.is(cmp(a, b) === 0, a === b, show(a, b));
    assert.is(cmp(b, a), -cmp(a, b), show(b, a));
    if (cmp(a, b) <= 0 && cmp(b, c) <= 0) assert.ok(cmp(a, c) <= 0, `transitive: ${show(a, b)} ? ${JSON.stringify(c)}`);
  }
});

test.run();
