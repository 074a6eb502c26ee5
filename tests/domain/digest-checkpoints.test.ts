// The state digests a replica keeps at checkpoints (ADR 0031): every interval-th offset, the
// latest few, none when the interval is 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DigestCheckpoints } from '../../src/domain/integrity/index.js';

test('keeps the digest after every interval-th offset, the last 8, in offset order', () => {
  const c = new DigestCheckpoints(4);
  for (let offset = -1n; offset <= 40n; offset++) c.record(offset, offset * 10n);
  assert.equal(c.latest, { offset: 40n, digest: 400n });
  assert.is(c.at(40n), 400n);
  assert.is(c.at(12n), 120n, 'the 8th newest is kept');
  assert.is(c.at(8n), undefined, 'older ones are forgotten');
  assert.is(c.at(13n), undefined, 'offsets between checkpoints are not kept');
  assert.is(c.record(36n, 1n), false, 'an offset already passed is not taken again');
  assert.is(c.at(36n), 360n);
  assert.ok(c.isCheckpoint(0n), 'offset 0 is one');
});

test('interval 0 keeps nothing', () => {
  const c = new DigestCheckpoints(0);
  for (let offset = 0n; offset < 10n; offset++) assert.is(c.record(offset, 1n), false);
  assert.is(c.latest, undefined);
});

test.run();
