/**
 * How oxia-ts's own client names itself on the wire (the user-agent of every call).
 * Servers use it for one thing: this client never resets a stream the server has
 * already finished, so its connections need not be counted against the HTTP/2
 * stream-reset limit (adapters/grpc/reset-guard.ts, ADR 0017).
 */
export const OXIA_TS_CLIENT_USER_AGENT = 'oxia-ts-client';

export function isOxiaTsClient(userAgent: string | undefined): boolean {
  return userAgent !== undefined && userAgent.startsWith(OXIA_TS_CLIENT_USER_AGENT);
}
