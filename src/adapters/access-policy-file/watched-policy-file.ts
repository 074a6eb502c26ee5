/**
 * The authorization policy from a YAML file (--authorization-policy-file), re-read when
 * the file changes. At start a missing or bad file is an error naming it (the server
 * must not start with less protection than asked for); at a change, a bad version is
 * logged and the last good policy stays in force.
 */
import { readFileSync } from 'node:fs';
import type { AccessPolicySource } from '../../application/ports/access-policy-source.js';
import type { Logger } from '../../application/ports/logger.js';
import type { AccessPolicy } from '../../domain/security/access-policy.js';
import { FILE_POLL_INTERVAL_MS, PolledFiles } from '../files/polled-files.js';
import { parsePolicyDocument } from './policy-document.js';

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export function readPolicyFile(file: string): AccessPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyFileError(file, `cannot read the authorization policy file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return parsePolicyDocument(text);
  } catch (e) {
    throw new PolicyFileError(file, `the authorization policy file ${file} is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class WatchedPolicyFile implements AccessPolicySource {
  private policy: AccessPolicy;
  private readonly polled: PolledFiles;

  /** Throws PolicyFileError when the file is missing or bad. */
  constructor(
    readonly file: string,
    private readonly log: Logger,
    pollIntervalMs = FILE_POLL_INTERVAL_MS,
  ) {
    this.policy = readPolicyFile(file);
    this.log.info('authorization policy in force', { file, grants: this.policy.grants.length });
    this.polled = new PolledFiles([file], () => this.reload(), pollIntervalMs);
  }

  current(): AccessPolicy {
    return this.policy;
  }

  close(): void {
    this.polled.close();
  }

  private reload(): void {
    try {
      this.policy = readPolicyFile(this.file);
      this.log.info('authorization policy reloaded', { file: this.file, grants: this.policy.grants.length });
    } catch (e) {
      this.log.warn('authorization policy file changed but cannot be used; the previous policy stays in force', { file: this.file, error: String(e) });
    }
  }
}
