/**
 * The TLS settings every role shares, in Oxia's flag names: one set per listener
 * (`--tls-*` for the public one, `--internal-tls-*` for a server's internal one; a
 * coordinator's `--tls-*` is its internal listener, as in Oxia), one set for a role's own calls
 * to servers (`--peer-tls-*`), and the metrics endpoint's certificate (`--metrics-tls-*`, ours:
 * Oxia's metrics endpoint has no TLS). Rows for the option tables, schema entries, and the
 * translation into the adapters' settings with every inconsistency reported by its flag.
 *
 * A listener is on TLS when its certificate file is given (Oxia's rule); a caller is when any
 * of its peer settings is.
 */
import { z } from 'zod';
import type { ClientTlsSettings, ServerTlsSettings } from '../../adapters/tls/tls-settings.js';
import type { OptionSpec } from './option-table.js';
import { boolean, nonEmptyText, tlsVersion } from './values.js';
import type { TlsVersionName } from './values.js';

const VERSION_HELP = '771 (TLS 1.2) or 772 (TLS 1.3), Oxia\'s codes';

/** A listener's rows: `${prefix}tls-cert-file` and the rest. */
export function listenerTlsOptions<const P extends string>(prefix: P, listener: string) {
  return [
    { name: `${prefix}tls-cert-file` as `${P}tls-cert-file`, valueName: 'file', help: `certificate (PEM) of the ${listener}; TLS when given (re-read when it changes)`, default: undefined },
    { name: `${prefix}tls-key-file` as `${P}tls-key-file`, valueName: 'file', help: `private key (PEM) of that certificate`, default: undefined },
    { name: `${prefix}tls-trusted-ca-file` as `${P}tls-trusted-ca-file`, valueName: 'file', help: `CA certificates (PEM) client certificates must come from (--${prefix}tls-client-auth)`, default: undefined },
    { name: `${prefix}tls-client-auth` as `${P}tls-client-auth`, help: `require a client certificate from a trusted CA on the ${listener} (mutual TLS)`, default: 'false' },
    { name: `${prefix}tls-min-version` as `${P}tls-min-version`, valueName: 'code', help: `lowest TLS version accepted: ${VERSION_HELP}; default 771`, default: undefined },
    { name: `${prefix}tls-max-version` as `${P}tls-max-version`, valueName: 'code', help: `highest TLS version accepted: ${VERSION_HELP}; default the highest`, default: undefined },
  ] as const satisfies readonly OptionSpec[];
}

export const PEER_TLS_OPTIONS = [
  { name: 'peer-tls-cert-file', valueName: 'file', help: 'client certificate (PEM) for calls to other servers (mutual TLS; re-read when it changes)', default: undefined },
  { name: 'peer-tls-key-file', valueName: 'file', help: 'private key (PEM) of that certificate', default: undefined },
  { name: 'peer-tls-trusted-ca-file', valueName: 'file', help: "CA certificates (PEM) the servers' certificates must come from (default: the system's); TLS when given", default: undefined },
  { name: 'peer-tls-server-name', valueName: 'name', help: "name the servers' certificates must carry, instead of the host dialled", default: undefined },
  { name: 'peer-tls-insecure-skip-verify', help: "accept any server certificate (testing only)", default: 'false' },
] as const satisfies readonly OptionSpec[];

export const METRICS_TLS_OPTIONS = [
  { name: 'metrics-tls-cert-file', valueName: 'file', help: 'certificate (PEM) of the metrics endpoint; HTTPS when given (re-read when it changes)', default: undefined },
  { name: 'metrics-tls-key-file', valueName: 'file', help: 'private key (PEM) of that certificate', default: undefined },
] as const satisfies readonly OptionSpec[];

const optionalFile = nonEmptyText.optional();
const optionalTlsVersion = tlsVersion.optional();

type ListenerTlsKey<P extends string> = ReturnType<typeof listenerTlsOptions<P>>[number]['name'];
type ListenerTlsShape<P extends string> = {
  [K in ListenerTlsKey<P>]: K extends `${P}tls-client-auth` ? typeof boolean : K extends `${P}tls-${'min' | 'max'}-version` ? typeof optionalTlsVersion : typeof optionalFile;
};
export type ListenerTlsValues<P extends string> = { readonly [K in keyof ListenerTlsShape<P>]?: z.output<ListenerTlsShape<P>[K]> };

/** The schema entries of listenerTlsOptions(prefix). */
export function listenerTlsShape<const P extends string>(prefix: P): ListenerTlsShape<P> {
  return {
    [`${prefix}tls-cert-file`]: optionalFile,
    [`${prefix}tls-key-file`]: optionalFile,
    [`${prefix}tls-trusted-ca-file`]: optionalFile,
    [`${prefix}tls-client-auth`]: boolean,
    [`${prefix}tls-min-version`]: optionalTlsVersion,
    [`${prefix}tls-max-version`]: optionalTlsVersion,
  } as ListenerTlsShape<P>;
}

export const PEER_TLS_SHAPE = {
  'peer-tls-cert-file': optionalFile,
  'peer-tls-key-file': optionalFile,
  'peer-tls-trusted-ca-file': optionalFile,
  'peer-tls-server-name': optionalFile,
  'peer-tls-insecure-skip-verify': boolean,
} satisfies Record<(typeof PEER_TLS_OPTIONS)[number]['name'], z.ZodType<unknown, unknown>>;

export const METRICS_TLS_SHAPE = {
  'metrics-tls-cert-file': optionalFile,
  'metrics-tls-key-file': optionalFile,
} satisfies Record<(typeof METRICS_TLS_OPTIONS)[number]['name'], z.ZodType<unknown, unknown>>;

const ORDER: Record<TlsVersionName, number> = { 'TLSv1.2': 2, 'TLSv1.3': 3 };

/** A listener's settings (undefined: plaintext); what does not fit together is added to `problems`. */
export function listenerTlsSettingsOf<P extends string>(o: ListenerTlsValues<P>, prefix: P, problems: string[]): ServerTlsSettings | undefined {
  const v = o as unknown as Record<string, unknown>;
  const flag = (name: string): string => `--${prefix}${name}`;
  const certFile = v[`${prefix}tls-cert-file`] as string | undefined;
  const keyFile = v[`${prefix}tls-key-file`] as string | undefined;
  const trustedCaFile = v[`${prefix}tls-trusted-ca-file`] as string | undefined;
  const clientAuth = v[`${prefix}tls-client-auth`] as boolean;
  const minVersion = v[`${prefix}tls-min-version`] as TlsVersionName | undefined;
  const maxVersion = v[`${prefix}tls-max-version`] as TlsVersionName | undefined;
  if (certFile === undefined) {
    const given = [keyFile && 'tls-key-file', trustedCaFile && 'tls-trusted-ca-file', clientAuth && 'tls-client-auth', minVersion && 'tls-min-version', maxVersion && 'tls-max-version'].filter(
      (x): x is string => typeof x === 'string',
    );
    for (const name of given) problems.push(`${flag(name)}: needs ${flag('tls-cert-file')} (TLS is on when a certificate is given)`);
    return undefined;
  }
  const before = problems.length;
  if (keyFile === undefined) problems.push(`${flag('tls-key-file')}: required with ${flag('tls-cert-file')}`);
  if (clientAuth && trustedCaFile === undefined) problems.push(`${flag('tls-trusted-ca-file')}: required by ${flag('tls-client-auth')} (the CAs client certificates must come from)`);
  if (minVersion && maxVersion && ORDER[maxVersion] < ORDER[minVersion]) problems.push(`${flag('tls-max-version')}: below ${flag('tls-min-version')}`);
  if (problems.length > before || keyFile === undefined) return undefined;
  return { certFile, keyFile, trustedCaFile, clientAuth, minVersion: minVersion ?? 'TLSv1.2', maxVersion };
}

/** Raw client-side values, by the names without the role's prefix. */
export interface ClientTlsValues {
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly trustedCaFile: string | undefined;
  readonly serverName: string | undefined;
  readonly insecureSkipVerify: boolean;
}

/** A caller's settings (undefined: plaintext); `prefix` words the problems (`peer-` or ``). */
export function clientTlsSettingsOf(v: ClientTlsValues, prefix: string, problems: string[]): ClientTlsSettings | undefined {
  const flag = (name: string): string => `--${prefix}${name}`;
  if (v.certFile === undefined && v.keyFile === undefined && v.trustedCaFile === undefined && v.serverName === undefined && !v.insecureSkipVerify) return undefined;
  const before = problems.length;
  if (v.certFile !== undefined && v.keyFile === undefined) problems.push(`${flag('tls-key-file')}: required with ${flag('tls-cert-file')}`);
  if (v.keyFile !== undefined && v.certFile === undefined) problems.push(`${flag('tls-cert-file')}: required with ${flag('tls-key-file')}`);
  if (problems.length > before) return undefined;
  return { ...v };
}

export function peerTlsSettingsOf(o: z.output<z.ZodObject<typeof PEER_TLS_SHAPE>>, problems: string[]): ClientTlsSettings | undefined {
  return clientTlsSettingsOf(
    {
      certFile: o['peer-tls-cert-file'],
      keyFile: o['peer-tls-key-file'],
      trustedCaFile: o['peer-tls-trusted-ca-file'],
      serverName: o['peer-tls-server-name'],
      insecureSkipVerify: o['peer-tls-insecure-skip-verify'],
    },
    'peer-',
    problems,
  );
}

export interface MetricsTlsSettings {
  readonly certFile: string;
  readonly keyFile: string;
}

export function metricsTlsSettingsOf(o: z.output<z.ZodObject<typeof METRICS_TLS_SHAPE>>, problems: string[]): MetricsTlsSettings | undefined {
  const certFile = o['metrics-tls-cert-file'];
  const keyFile = o['metrics-tls-key-file'];
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    problems.push(certFile === undefined ? '--metrics-tls-cert-file: required with --metrics-tls-key-file' : '--metrics-tls-key-file: required with --metrics-tls-cert-file');
    return undefined;
  }
  return { certFile, keyFile };
}

/**
 * The flags of the commands that call a server (`client`, `perf`, `health`): Oxia's client-side
 * names without a prefix. TLS when any is given.
 */
export const CLIENT_TLS_OPTIONS = [
  { name: 'tls-cert-file', valueName: 'file', help: 'client certificate (PEM), for servers that require one (mutual TLS)', default: undefined },
  { name: 'tls-key-file', valueName: 'file', help: 'private key (PEM) of that certificate', default: undefined },
  { name: 'tls-trusted-ca-file', valueName: 'file', help: "CA certificates (PEM) the server's certificate must come from (default: the system's); TLS when given", default: undefined },
  { name: 'tls-server-name', valueName: 'name', help: "name the server's certificate must carry, instead of the host dialled", default: undefined },
  { name: 'tls-insecure-skip-verify', help: 'TLS, accepting any server certificate (testing only)', default: undefined },
] as const satisfies readonly OptionSpec[];
