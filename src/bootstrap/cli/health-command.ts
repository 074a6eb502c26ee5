/**
 * `oxia-ts health`: asks a server's grpc.health.v1 service for a service's status;
 * exit 0 when SERVING, 1 otherwise. For scripts and container probes: where the kubelet's own
 * gRPC probe cannot go, a port on TLS (the kubelet's probe speaks plaintext only).
 *
 * A token given with --auth-token(-file) is sent with the check, for a proxy in front of the
 * server that wants one; the server's health service answers without one, so that probes keep
 * working when the data API requires a token.
 */
import { Command, Option } from 'commander';
import { makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { HealthService } from '../../adapters/grpc-protocol/service-definitions.js';
import { channelSecurityFromPem, PLAINTEXT, type ChannelSecurity } from '../../adapters/tls/grpc-channel-credentials.js';
import { TlsFileError } from '../../adapters/tls/tls-files.js';
import { ConfigError } from '../config/option-table.js';
import { addClientAuthFlags, clientAuthenticationOf, type ClientAuthFlags } from './client-auth-flags.js';
import { addClientTlsFlags, clientTlsOf, type ClientTlsFlags } from './client-tls-flags.js';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '../../domain/wire/health.js';
import type { HealthCheckRequest, HealthCheckResponse } from '../../domain/wire/health.js';
import { parseDurationMs } from '../config/values.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CommandOutcome } from './standalone-command.js';

type HealthClient = Client & {
  check(request: HealthCheckRequest, metadata: Metadata, options: { deadline: Date }, callback: (error: ServiceError | null, response?: HealthCheckResponse) => void): void;
};

export function healthCommand(outcome: CommandOutcome): Command {
  return addClientTlsFlags(addClientAuthFlags(new Command('health')))
    .description('check the health of a running server (exit 0 when SERVING)')
    .addOption(new Option('-a, --address <host:port>', 'server to ask').default('127.0.0.1:6648'))
    .addOption(new Option('--service <name>', 'service to ask about ("" is the whole server)').default(''))
    .addOption(new Option('--timeout <duration>', 'how long to wait for the answer').default('5s'))
    .action(async (options: { address: string; service: string; timeout: string } & ClientTlsFlags & ClientAuthFlags) => {
      const timeoutMs = parseDurationMs(options.timeout);
      if (timeoutMs === undefined) {
        process.stderr.write(`oxia-ts health: --timeout: must be a duration such as 500ms, 30s or 1m, got "${options.timeout}"\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      let security: ChannelSecurity;
      const metadata = new Metadata();
      try {
        const tls = clientTlsOf(options);
        security = tls ? channelSecurityFromPem(tls, tls) : PLAINTEXT;
        const credentials = await clientAuthenticationOf(options)?.generateCredentials();
        for (const [key, value] of Object.entries(credentials ?? {})) metadata.set(key, value);
      } catch (e) {
        if (!(e instanceof ConfigError || e instanceof TlsFileError)) throw e;
        process.stderr.write(`oxia-ts health: ${e instanceof ConfigError ? e.problems.join('; ') : e.message}\n`);
        outcome.exitCode = EXIT_USAGE;
        return;
      }
      const Ctor = makeGenericClientConstructor(HealthService, 'Health');
      const client = new Ctor(options.address, security.credentials, security.channelOptions) as unknown as HealthClient;
      try {
        const response = await new Promise<HealthCheckResponse>((resolve, reject) =>
          client.check({ service: options.service }, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, r) =>
            error || !r ? reject(error ?? new Error('empty answer')) : resolve(r),
          ),
        );
        const status = ServingStatus[response.status] ?? String(response.status);
        process.stdout.write(`${status}\n`);
        outcome.exitCode = response.status === ServingStatus.SERVING ? EXIT_OK : EXIT_FAILURE;
      } catch (error) {
        process.stderr.write(`oxia-ts health: ${options.address}: ${(error as Error).message}\n`);
        outcome.exitCode = EXIT_FAILURE;
      } finally {
        client.close();
      }
    });
}
