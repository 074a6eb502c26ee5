import { OxiaError, invalidArgument } from '../errors/oxia-error.js';
import { isWellFormedUnicode, utf8Length } from '../keys/bytes.js';
import { type KeyEncoder, keyEncoder } from '../keys/key-encoder.js';
import { isReservedKey } from '../keys/internal-keys.js';
import { KeyComparisonType, type PutRequest, type ReadRequest, type WriteRequest } from '../wire/client.js';
import type { DatabaseConfig, KeyRangeQuery } from './api.js';
import type { RequestLimits } from './limits.js';

/**
 * Admission checks the leader runs before proposing a request, so that the log only
 * carries requests that make sense: each breach is an OxiaError naming the problem.
 * (The state machine copes with anything a log holds; these checks are stricter.)
 */

/** Digits and dash of one sequence suffix ("-%020d"). */
const SEQUENCE_SUFFIX_BYTES = 21;

function limitExceeded(message: string): OxiaError {
  return new OxiaError('LimitExceeded', message);
}

function show(text: string): string {
  return JSON.stringify(text.length > 64 ? text.slice(0, 64) + '…' : text);
}

function checkText(what: string, text: string, limits: RequestLimits): number {
  if (!isWellFormedUnicode(text)) throw invalidArgument(`${what} ${show(text)} is not valid Unicode (unpaired surrogate)`);
  const bytes = utf8Length(text);
  if (bytes > limits.keySizeBytesMax) {
    throw limitExceeded(`${what} ${show(text)} is ${bytes} bytes, over the limit of ${limits.keySizeBytesMax}`);
  }
  return bytes;
}

/** A key a client may write: non-empty, valid, within the size limit, not one of the shard's own keys. */
function checkWriteKey(what: string, key: string, limits: RequestLimits): number {
  if (key.length === 0) throw invalidArgument(`${what} must not be empty`);
  const bytes = checkText(what, key, limits);
  if (isReservedKey(key)) throw invalidArgument(`${what} ${show(key)} is reserved for the server's internal records`);
  return bytes;
}

function checkIndexName(name: string, limits: RequestLimits): void {
  if (name.length === 0) throw invalidArgument('secondary index name must not be empty');
  if (name.includes('/')) throw invalidArgument(`secondary index name ${show(name)} must not contain '/'`);
  checkText('secondary index name', name, limits);
}

function checkPut(put: PutRequest, i: number, limits: RequestLimits): number {
  const what = `put #${i} key`;
  let bytes = checkWriteKey(what, put.key, limits);
  if (put.value.length > limits.valueSizeBytesMax) {
    throw limitExceeded(
      `put #${i} value of ${show(put.key)} is ${put.value.length} bytes, over the limit of ${limits.valueSizeBytesMax}`,
    );
  }
  bytes += put.value.length;
  if (put.partitionKey !== undefined) bytes += checkText(`put #${i} partition key`, put.partitionKey, limits);
  if (put.clientIdentity !== undefined) bytes += checkText(`put #${i} client identity`, put.clientIdentity, limits);
  if (put.sequenceKeyDelta.length > 0) {
    if (put.partitionKey === undefined) {
      throw invalidArgument(`put #${i} on ${show(put.key)} uses sequence keys and so needs a partition key`);
    }
    if (put.sequenceKeyDelta[0] === 0n) {
      throw invalidArgument(`put #${i} on ${show(put.key)}: the first sequence key delta must be greater than 0`);
    }
    const generatedBytes = utf8Length(put.key) + SEQUENCE_SUFFIX_BYTES * put.sequenceKeyDelta.length;
    if (generatedBytes > limits.keySizeBytesMax) {
      throw limitExceeded(
        `put #${i}: the sequence key generated from ${show(put.key)} would be ${generatedBytes} bytes, ` +
          `over the limit of ${limits.keySizeBytesMax}`,
      );
    }
  }
  for (const si of put.secondaryIndexes) {
    checkIndexName(si.indexName, limits);
    bytes += checkText(`put #${i} secondary key of index ${show(si.indexName)}`, si.secondaryKey, limits);
  }
  return bytes;
}

/**
 * [start, end) must not be inverted in the namespace's order; an empty end means no
 * upper bound.
 */
function checkRange(what: string, start: string, end: string, encoder: KeyEncoder, limits: RequestLimits): number {
  const bytes = checkText(`${what} start`, start, limits) + checkText(`${what} end`, end, limits);
  if (end !== '' && encoder.compare(start, end) > 0) {
    throw invalidArgument(
      `${what} is inverted: start ${show(start)} is after end ${show(end)} in ${encoder.sorting} key order`,
    );
  }
  return bytes;
}

export function validateWriteRequest(request: WriteRequest, limits: RequestLimits, config: DatabaseConfig): void {
  const items = request.puts.length + request.deletes.length + request.deleteRanges.length;
  if (items > limits.itemsPerRequestMax) {
    throw limitExceeded(
      `write request has ${items} operations (puts + deletes + delete ranges), over the limit of ${limits.itemsPerRequestMax}`,
    );
  }
  const encoder = keyEncoder(config.keySorting);
  let bytes = 0;
  request.puts.forEach((p, i) => (bytes += checkPut(p, i, limits)));
  request.deletes.forEach((d, i) => (bytes += checkWriteKey(`delete #${i} key`, d.key, limits)));
  request.deleteRanges.forEach(
    (r, i) => (bytes += checkRange(`delete range #${i}`, r.startInclusive, r.endExclusive, encoder, limits)),
  );
  if (bytes > limits.requestSizeBytesMax) {
    throw limitExceeded(`write request carries ${bytes} bytes of keys and values, over the limit of ${limits.requestSizeBytesMax}`);
  }
}

const COMPARISON_TYPES = new Set<number>([
  KeyComparisonType.EQUAL,
  KeyComparisonType.FLOOR,
  KeyComparisonType.CEILING,
  KeyComparisonType.LOWER,
  KeyComparisonType.HIGHER,
]);

export function validateReadRequest(request: ReadRequest, limits: RequestLimits): void {
  if (request.gets.length > limits.itemsPerRequestMax) {
    throw limitExceeded(`read request has ${request.gets.length} gets, over the limit of ${limits.itemsPerRequestMax}`);
  }
  request.gets.forEach((g, i) => {
    if (!COMPARISON_TYPES.has(g.comparisonType)) {
      throw invalidArgument(`get #${i} has an unknown comparison type ${String(g.comparisonType)}`);
    }
    if (g.secondaryIndexName !== undefined) checkIndexName(g.secondaryIndexName, limits);
    // FLOOR/CEILING/... of "" are meaningful (e.g. CEILING "" is the first key); EQUAL "" never matches.
    if (g.key.length === 0 && g.comparisonType === KeyComparisonType.EQUAL && g.secondaryIndexName === undefined) {
      throw invalidArgument(`get #${i} key must not be empty`);
    }
    checkText(`get #${i} key`, g.key, limits);
  });
}

/** Checks a List/RangeScan query: bounds valid and in order, index name usable. */
export function validateRange(query: KeyRangeQuery, limits: RequestLimits, config: DatabaseConfig): void {
  if (query.secondaryIndexName !== undefined) checkIndexName(query.secondaryIndexName, limits);
  checkRange('range', query.startInclusive, query.endExclusive, keyEncoder(config.keySorting), limits);
}
