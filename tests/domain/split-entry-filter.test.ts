// A split's child catching up live (ADR 0025) applies each parent entry cut down by
// splitEntryValue: property test against the parent's state machine. After random entries
// (conditional puts, partition keys, deletes, delete ranges, failing requests) each child
// holds exactly the parent's records of its range, with the parent's versions, and its version
// counter is the parent's (the next put gets the same version everywhere).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splitEntryValue } from '../../src/domain/sharding/split-entry-filter.js';
import { routingHash, routingKey } from '../../src/domain/sharding/hash.js';
import { rangeContains, splitRangeAt, defaultSplitPoint } from '../../src/domain/sharding/hash-range.js';
import type { WriteRequest } from '../../src/domain/wire/client.js';
import { Db, del, put, requests, rng } from './db-harness.js';

const FULL = { min: 0, max: 0xffff_ffff };

async function records(db: Db): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const r of await db.scan('', '')) out.set(r.key!, r.version!.versionId);
  return out;
}

test('each child ends with the parent records of its range, their versions, and the parent counter', async () => {
  const ranges = splitRangeAt(FULL, defaultSplitPoint(FULL))!;
  for (let seed = 1; seed <= 20; seed++) {
    const random = rng(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const parent = new Db();
    const children = ranges.map((range) => ({ range, db: new Db() }));
    const partitionOf = new Map<string, string | undefined>();
    for (let e = 0; e < 60; e++) {
      const writes: Array<Partial<WriteRequest>> = [];
      for (let w = 0; w < 1 + pick(3); w++) {
        const puts = [];
        for (let p = 0; p < pick(4); p++) {
          const key = `/k/${pick(30)}`;
          // A key keeps its partition key, as a client routes it.
          if (!partitionOf.has(key)) partitionOf.set(key, random() < 0.3 ? `p${pick(3)}` : undefined);
          const partitionKey = partitionOf.get(key);
          const existing = (await parent.get(key)).version?.versionId;
          const expected = random() < 0.3 ? (random() < 0.5 && existing !== undefined ? existing : -1n) : undefined;
          puts.push(put(key, `v${e}.${w}.${p}`, { ...(partitionKey !== undefined && { partitionKey }), ...(expected !== undefined && { expectedVersionId: expected }) }));
        }
        if (random() < 0.1) puts.push(put('/seq', 'x', { partitionKey: 'p0', sequenceKeyDelta: random() < 0.5 ? [1n] : [1n, 1n] }));
        const deletes = random() < 0.3 ? [del(`/k/${pick(30)}`)] : [];
        const deleteRanges = random() < 0.05 ? [{ startInclusive: `/k/${pick(10)}`, endExclusive: `/k/${10 + pick(20)}` }] : [];
        writes.push({ puts, deletes, deleteRanges });
      }
      const value = requests(...writes);
      const applied = await parent.applyValue(value);
      for (const child of children) await child.db.applyValue(splitEntryValue(value, applied, child.range));
    }
    const all = await records(parent);
    for (const { range, db } of children) {
      const expected = new Map([...all].filter(([key]) => rangeContains(range, routingHash(routingKey(key, key.startsWith('/seq') ? 'p0' : partitionOf.get(key))))));
      assert.equal(await records(db), expected, `seed ${seed}: the child's records are the parent's of its range`);
    }
    const next = (await parent.putOne('/next', 'x')).version!.versionId;
    for (const { db } of children) assert.is((await db.putOne('/next', 'x')).version!.versionId, next, `seed ${seed}: the child's version counter is the parent's`);
  }
});

test.run();
