/**
 * Authorization settings of the storage roles (`server`, `standalone`): the policy file
 * that grants principals rights on namespaces (ADR 0018). Absent: no policy, every
 * principal the server lets in may do everything, as in Oxia.
 */
import type { OptionSpec } from './option-table.js';
import { nonEmptyText } from './values.js';

export const ACCESS_OPTIONS = [
  {
    name: 'authorization-policy-file',
    valueName: 'file',
    help: 'YAML policy granting principals read/write/admin on namespaces (default: none, everyone the server lets in may do everything); re-read on change',
    default: undefined,
  },
] as const satisfies readonly OptionSpec[];

export const ACCESS_SHAPE = {
  'authorization-policy-file': nonEmptyText.optional(),
};

export interface AccessSettings {
  readonly authorizationPolicyFile: string | undefined;
}

export function accessSettingsOf(o: { 'authorization-policy-file'?: string | undefined }): AccessSettings {
  return { authorizationPolicyFile: o['authorization-policy-file'] };
}
