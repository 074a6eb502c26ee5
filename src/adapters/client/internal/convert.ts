import type { GetResponse, Notification as WireNotification, Version as WireVersion } from '../../../domain/wire/client.js';
import { OxiaError } from '../errors.js';
import { Version, type GetResult, type Notification, type NotificationType } from '../types.js';

/** Wire int64 to a JS number (version ids and counters stay far below 2^53). */
const num = (v: bigint): number => Number(v);

export function toVersion(v: WireVersion | undefined, what: string): Version {
  if (v === undefined) throw new OxiaError(`${what}: the server's response carries no version`, { kind: 'Internal' });
  return new Version({
    versionId: num(v.versionId),
    modificationsCount: num(v.modificationsCount),
    createdTimestamp: new Date(num(v.createdTimestamp)),
    modifiedTimestamp: new Date(num(v.modifiedTimestamp)),
    sessionId: v.sessionId === undefined ? undefined : num(v.sessionId),
    clientIdentity: v.clientIdentity,
  });
}

/** A plain Uint8Array view (not a Buffer) over the received bytes, as the official client returns. */
export function toBytes(b: Uint8Array | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function toGetResult(r: GetResponse, requestedKey: string, what: string): GetResult {
  return { key: r.key ?? requestedKey, value: toBytes(r.value), version: toVersion(r.version, what) };
}

export function toNotification(key: string, n: WireNotification): Notification {
  const out: Notification = {
    key,
    type: n.type as number as NotificationType,
    versionId: n.versionId === undefined ? 0 : num(n.versionId),
  };
  if (n.keyRangeLast !== undefined) out.keyRangeEnd = n.keyRangeLast;
  return out;
}
