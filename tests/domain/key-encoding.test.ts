import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareBytes, compareUtf8, prefixSuccessor, utf8 } from '../../src/domain/keys/bytes.js';
import {
  INTERNAL_REGION_START,
  indexEntriesRange,
  internalChildrenRange,
  isInternalEncoded,
  keyComparator,
  keyEncoder,
} from '../../src/domain/keys/key-encoder.js';
import {
  indexEntryKey,
  isReservedKey,
  notificationKey,
  parseIndexEntryKey,
  parseSessionKey,
  sessionKey,
  shadowKey,
} from '../../src/domain/keys/internal-keys.js';
import { pathEscape, pathUnescape } from '../../src/domain/keys/path-escape.js';
import type { KeySorting } from '../../src/domain/sharding/namespace.js';
import { rng } from './db-harness.js';

const hier = keyEncoder('hierarchical');
const nat = keyEncoder('natural');
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sortedBy = (sorting: KeySorting, keys: string[]) => [...keys].sort(keyComparator(sorting));
const byEncoding = (sorting: KeySorting, keys: string[]) => {
  const e = keyEncoder(sorting);
  return [...keys].sort((a, b) => compareBytes(e.encode(a), e.encode(b)));
};

// ---- reference orders, written from the definitions, independent of the encoders --------

function codePoints(s: string, slashRank: number): number[] {
  return [...s].map((c) => (c === '/' ? slashRank : c.codePointAt(0)!));
}
function compareArrays(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
function level(s: string): number {
  let n = [...s].filter((c) => c === '/').length;
  if (s.endsWith('//')) n--;
  return Math.min(n, 0x7fff);
}
const internal = (s: string) => s.startsWith('__oxia/');
function referenceUserCompare(sorting: KeySorting, a: string, b: string): number {
  if (sorting === 'natural') return compareArrays(codePoints(a, 0x2f), codePoints(b, 0x2f));
  return level(a) - level(b) || compareArrays(codePoints(a, 0x110000), codePoints(b, 0x110000));
}

// ---- examples ------------------------------------------------------------------------------

test('hierarchical: fewer levels first, then bytes with / above every character (Oxia vectors)', () => {
  const lt = (a: string, b: string) =>
    assert.ok(compareBytes(hier.encode(a), hier.encode(b)) < 0, `${JSON.stringify(a)} < ${JSON.stringify(b)}`);
  lt('aaaaa', 'zzzzz');
  lt('', 'aaaaaa');
  lt('aaaaa', 'aaaaaaaaaaa');
  lt('a', '/');
  lt('/aaaa', '/bbbbb');
  lt('/aaaa', '/aa/a');
  lt('/aaaa/a', '/aaaa/b');
  lt('/bbbbbbbbbb', '/aaaa/a/a');
  lt('/aaaa/bbbbbbbbbb', '/aaaa/a/a');
  lt('/a/b/a/b', '/a/b/a/a/a');
  lt('/a', '/b');
  lt('/a', '/a/');
  lt('/a/', '/a//');
  lt('/a/a-2', '/b/c');
  lt('/', '/a');
  lt('/a', '//');
  lt('/b', '//');
  lt('//', '/a/a-1');
  lt('/a/a-1', '/a//');
  lt('/a//', '/b/c');
  assert.is(compareBytes(hier.encode('aaaaa'), hier.encode('aaaaa')), 0);
});

test('hierarchical: encoded form is a 2-byte level then the key with / as 0xff', () => {
  assert.is(hex(hier.encode('')), '0000');
  assert.is(hex(hier.encode('ab')), '00006162');
  assert.is(hex(hier.encode('/a/b')), '0002ff61ff62');
  assert.is(hex(hier.encode('/a//')), '0002ff61ffff', 'a trailing "//" counts as one level');
  assert.is(hex(nat.encode('/a/b')), '2f612f62');
});

test('hierarchical: ["/a/", "/a//") holds exactly the direct children of /a', () => {
  const keys = ['/a', '/a/b', '/a/c', '/a/c/d', '/a/z~', '/ab', '/ab/x', '/a-/x', '/b/x', '/a/é', '/a/😀', '/a/\uffff'];
  const lo = hier.encode('/a/');
  const hi = hier.encode('/a//');
  const inRange = keys.filter((k) => compareBytes(hier.encode(k), lo) >= 0 && compareBytes(hier.encode(k), hi) < 0);
  assert.equal(sortedBy('hierarchical', inRange), sortedBy('hierarchical', ['/a/b', '/a/c', '/a/z~', '/a/é', '/a/😀', '/a/\uffff']));
});

test('natural: plain UTF-8 byte order', () => {
  assert.equal(sortedBy('natural', ['b', 'ab', 'a/b', 'a', '/z', 'é', '😀', '\uffff']), [
    '/z', 'a', 'a/b', 'ab', 'b', 'é', '\uffff', '😀',
  ]);
});

test('UTF-8 order differs from UTF-16 order for astral characters, and the encoders follow UTF-8', () => {
  // '\uffff' < '😀' in UTF-8 (and code points), but '😀' (a surrogate pair) < '\uffff' in UTF-16.
  assert.ok('😀' < '\uffff');
  assert.ok(compareUtf8('\uffff', '😀') < 0);
  for (const sorting of ['natural', 'hierarchical'] as const) {
    assert.ok(keyComparator(sorting)('\uffff', '😀') < 0, sorting);
  }
});

test('very deep keys keep a valid level and stay below internal keys', () => {
  for (const depth of [0x7ffe, 0x8000, 0x8001, 1 << 16]) {
    const key = '/'.repeat(depth) + 'a';
    const e = hier.encode(key);
    assert.is(hier.decode(e), key);
    assert.not.ok(isInternalEncoded(e));
    assert.ok(compareBytes(e, hier.encode('__oxia/xyz')) < 0);
  }
  const deepInternal = '__oxia/' + '/'.repeat(1 << 16) + 'a';
  assert.is(hier.decode(hier.encode(deepInternal)), deepInternal);
});

test('internal keys sort after every user key, in both sortings, and decode back', () => {
  for (const enc of [hier, nat]) {
    for (const user of ['my-key', '/my-key', '\uffff\uffff', '😀', '__oxia', '__oxib/x', '/'.repeat(40000)]) {
      assert.ok(compareBytes(enc.encode(user), INTERNAL_REGION_START) < 0, `${enc.sorting}: ${user.slice(0, 10)}`);
      assert.ok(compareBytes(enc.encode(user), enc.encode('__oxia/xyz')) < 0);
      assert.ok(enc.compare(user, '__oxia/') < 0);
    }
    for (const k of ['__oxia/', '__oxia/xyz', '__oxia/session/0000000000000001/a%2Fb']) {
      assert.ok(isInternalEncoded(enc.encode(k)));
      assert.is(enc.decode(enc.encode(k)), k);
    }
  }
});

test('internal keys other than index entries encode the same whatever the sorting', () => {
  for (const k of [sessionKey(5n), shadowKey(5n, '/a/b'), notificationKey(42n), '__oxia/commit-offset', '__oxia/a-test']) {
    assert.is(hex(hier.encode(k)), hex(nat.encode(k)), k);
  }
});

test('index entries follow the namespace order of secondary keys', () => {
  const secs = ['a', 'a/b', 'b', 'a/b/c', '0', 'a/'];
  for (const sorting of ['natural', 'hierarchical'] as const) {
    const enc = keyEncoder(sorting);
    const entries = secs.map((s) => indexEntryKey('idx', s, 'pk-' + s));
    const bySecondary = sortedBy(sorting, secs);
    const byEntry = [...entries].sort((a, b) => compareBytes(enc.encode(a), enc.encode(b))).map((e) => parseIndexEntryKey(e)!.secondaryKey);
    assert.equal(byEntry, bySecondary, sorting);
    const region = indexEntriesRange('idx');
    for (const e of entries) {
      const b = enc.encode(e);
      assert.is(enc.decode(b), e);
      assert.ok(compareBytes(b, region.gte) >= 0 && compareBytes(b, region.lt) < 0);
      assert.not.ok(
        compareBytes(enc.encode(indexEntryKey('idx2', 'a', 'x')), region.gte) >= 0 &&
          compareBytes(enc.encode(indexEntryKey('idx2', 'a', 'x')), region.lt) < 0,
        'another index is outside the region',
      );
    }
  }
});

test('index entry keys: Oxia shape and parsing (secondary key may contain the separator)', () => {
  assert.is(indexEntryKey('by-name', 'bob', '/users/1'), '__oxia/idx/by-name/bob\x01%2Fusers%2F1');
  assert.equal(parseIndexEntryKey('__oxia/idx/by-name/bob\x01%2Fusers%2F1'), {
    indexName: 'by-name',
    secondaryKey: 'bob',
    primaryKey: '/users/1',
  });
  assert.equal(parseIndexEntryKey(indexEntryKey('i', 'x\x01y/z', 'p q')), { indexName: 'i', secondaryKey: 'x\x01y/z', primaryKey: 'p q' });
  assert.is(parseIndexEntryKey('__oxia/idx/i/no-separator'), undefined);
});

test('children range of an internal prefix holds its direct children only', () => {
  const range = internalChildrenRange('__oxia/session/');
  const inRange = (k: string) => compareBytes(nat.encode(k), range.gte) >= 0 && compareBytes(nat.encode(k), range.lt) < 0;
  assert.ok(inRange(sessionKey(1n)));
  assert.ok(inRange(sessionKey(0x7fffffffffffffffn)));
  assert.not.ok(inRange(shadowKey(1n, 'k')), 'shadows are one level deeper');
  assert.not.ok(inRange('__oxia/sessionx'));
  assert.not.ok(inRange(notificationKey(1n)));
});

test('session, shadow and notification keys have Oxia shapes', () => {
  assert.is(sessionKey(1n), '__oxia/session/0000000000000001');
  assert.is(sessionKey(0xabcn), '__oxia/session/0000000000000abc');
  assert.is(parseSessionKey('__oxia/session/0000000000000abc'), 0xabcn);
  assert.is(parseSessionKey('__oxia/session/0000000000000abc/x'), undefined);
  assert.is(parseSessionKey('__oxia/session/000000000000zzzz'), undefined);
  assert.is(shadowKey(2n, '/a b/c'), '__oxia/session/0000000000000002/%2Fa%20b%2Fc');
  assert.is(notificationKey(255n), '__oxia/notifications/00000000000000ff');
});

test('reserved keys are the shard-maintained ones only', () => {
  for (const k of ['__oxia/commit-offset', '__oxia/term', sessionKey(1n), shadowKey(1n, 'x'), notificationKey(1n), indexEntryKey('i', 's', 'p'), '__oxia/features/0000000001']) {
    assert.ok(isReservedKey(k), k);
  }
  for (const k of ['__oxia/a-test', '__oxia/sessions', 'a', '/__oxia/session/1']) assert.not.ok(isReservedKey(k), k);
});

test('path escape follows Go url.PathEscape', () => {
  assert.is(pathEscape('abcXYZ019-_.~$&+:=@'), 'abcXYZ019-_.~$&+:=@');
  assert.is(pathEscape('/a b;c,d?e#f%'), '%2Fa%20b%3Bc%2Cd%3Fe%23f%25');
  assert.is(pathEscape('é😀'), '%C3%A9%F0%9F%98%80');
  for (const s of ['', '/a/b', 'é😀 %41', 'x\x01y']) assert.is(pathUnescape(pathEscape(s)), s);
  assert.is(pathUnescape('%4'), undefined);
  assert.is(pathUnescape('%zz'), undefined);
  assert.is(pathUnescape('a+b'), 'a+b');
});

test('prefixSuccessor bounds every extension of a prefix', () => {
  assert.equal([...prefixSuccessor(Uint8Array.of(1, 2))!], [1, 3]);
  assert.equal([...prefixSuccessor(Uint8Array.of(1, 0xff, 0xff))!], [2]);
  assert.is(prefixSuccessor(Uint8Array.of(0xff)), undefined);
});

// ---- properties ------------------------------------------------------------------------------

const ALPHABET = ['a', 'b', 'z', '/', '/', '/', '-', '_', '0', '9', '~', ' ', 'é', '€', '\uffff', '\ue000', '😀', '𐍈', '\x01', 'o', 'x', 'i'];
function randomKey(next: () => number): string {
  const len = Math.floor(next() * 8);
  let s = next() < 0.1 ? '__oxia/' : '';
  for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)]!;
  if (next() < 0.05) s += '//';
  return s;
}

for (const sorting of ['hierarchical', 'natural'] as const) {
  test(`${sorting}: decode(encode(k)) = k, and compare = byte order of encodings = reference order`, () => {
    const next = rng(sorting === 'natural' ? 17 : 29);
    const enc = keyEncoder(sorting);
    for (let i = 0; i < 4000; i++) {
      const a = randomKey(next);
      const b = next() < 0.1 ? a : randomKey(next);
      const ea = enc.encode(a);
      const eb = enc.encode(b);
      assert.is(enc.decode(ea), a);
      const bytes = sign(compareBytes(ea, eb));
      assert.is(sign(enc.compare(a, b)), bytes, `compare(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      assert.is(bytes === 0, a === b, 'the encoding is injective');
      if (!internal(a) && !internal(b)) {
        assert.is(bytes, sign(referenceUserCompare(sorting, a, b)), `reference(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      } else if (internal(a) !== internal(b)) {
        assert.is(bytes, internal(a) ? 1 : -1, 'internal keys last');
      }
    }
  });

  test(`${sorting}: sorting with the comparator equals sorting by encoded bytes`, () => {
    const next = rng(sorting === 'natural' ? 5 : 11);
    const keys = Array.from({ length: 500 }, () => randomKey(next));
    assert.equal(sortedBy(sorting, keys), byEncoding(sorting, keys));
  });
}

test('random index entries: encode/decode round trip and parse back', () => {
  const next = rng(99);
  for (const sorting of ['hierarchical', 'natural'] as const) {
    const enc = keyEncoder(sorting);
    for (let i = 0; i < 500; i++) {
      const name = randomKey(next).replaceAll('/', '');
      const sec = randomKey(next);
      const pk = randomKey(next) || 'k';
      const k = indexEntryKey(name, sec, pk);
      assert.is(enc.decode(enc.encode(k)), k);
      assert.equal(parseIndexEntryKey(k), { indexName: name, secondaryKey: sec, primaryKey: pk });
    }
  }
});

test('utf8 helper matches Buffer', () => {
  for (const s of ['', 'abc', 'é😀€']) assert.is(hex(utf8(s)), Buffer.from(s, 'utf8').toString('hex'));
});

test.run();
