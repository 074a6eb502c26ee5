/**
 * Who is calling, as far as the server could verify it. A principal comes from a
 * verified bearer token (its user name claim and all its claims), from the client
 * certificate of a mutual-TLS connection (its subject), from both, or from neither
 * (anonymous: the server checks no credentials). Authorization (access-policy.ts)
 * matches grants against these facts; logs and errors name the principal by `name`.
 */
export interface Principal {
  /** The user name claim, else the certificate subject, else "anonymous". */
  readonly name: string;
  /** The verified token's user name claim; undefined without a token. */
  readonly user: string | undefined;
  /** The verified token's claims; empty without a token. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The client certificate's subject attributes (CN, O, OU, ...); undefined without one. */
  readonly certificateSubject: Readonly<Record<string, string>> | undefined;
}

export interface PrincipalFacts {
  readonly user?: string | undefined;
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  readonly certificateSubject?: Readonly<Record<string, string>> | undefined;
}

export const ANONYMOUS_NAME = 'anonymous';

export function principalOf(facts: PrincipalFacts): Principal {
  const user = facts.user === '' ? undefined : facts.user;
  const certificateSubject = facts.certificateSubject;
  const name = user ?? (certificateSubject ? formatSubject(certificateSubject) : ANONYMOUS_NAME);
  return { name, user, claims: facts.claims ?? {}, certificateSubject };
}

export const ANONYMOUS: Principal = principalOf({});

/** "CN=a,O=b": the attributes in the order the certificate gave them. */
export function formatSubject(subject: Readonly<Record<string, string>>): string {
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
