/**
 * The console's login sessions (ADR 0028): a browser cannot put an Authorization header on an
 * EventSource, so the token typed into the login form stays on the server, and the browser gets
 * an opaque random id in a short-lived cookie (HttpOnly, SameSite=Strict, Secure over TLS).
 * Every request still re-authenticates the token itself, so an expired or revoked token ends
 * the session at once; the cookie only names which token.
 */
import { randomBytes } from 'node:crypto';

/** How long a login lasts at most (the token's own expiry may end it sooner). */
export const SESSION_TTL_MS = 15 * 60_000;
export const SESSION_COOKIE = 'oxia_console';
/** Sessions held at once: the oldest go first beyond it (a login flood cannot grow memory). */
const SESSIONS_MAX = 1_000;

interface LoginSession {
  readonly authorization: string;
  readonly expiresAtMs: number;
}

export class LoginSessions {
  private readonly sessions = new Map<string, LoginSession>();

  /** Keeps `authorization` ("Bearer ...") and returns the new session's id. */
  open(authorization: string, nowMs: number): string {
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { authorization, expiresAtMs: nowMs + SESSION_TTL_MS });
    while (this.sessions.size > SESSIONS_MAX) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    return id;
  }

  /** The authorization of a live session, or undefined (unknown or expired ids are dropped). */
  authorizationOf(id: string | undefined, nowMs: number): string | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAtMs <= nowMs) {
      this.sessions.delete(id);
      return undefined;
    }
    return s.authorization;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
