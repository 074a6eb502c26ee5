/**
 * Per-call credentials, as in the official Oxia Node client: an implementation returns
 * gRPC metadata entries that are attached to every outgoing call.
 */
export interface Authentication {
  /** Called once per call; may return a promise (token refresh). A failure fails the call. */
  generateCredentials(): Promise<Record<string, string>> | Record<string, string>;
}

/** Sends `authorization: Bearer <token>`; the token may be a string or a (possibly async) supplier. */
export class TokenAuthentication implements Authentication {
  private readonly token: () => string | Promise<string>;
  constructor(token: string | (() => string | Promise<string>)) {
    this.token = typeof token === 'function' ? token : () => token;
  }
  async generateCredentials(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token()}` };
  }
}
