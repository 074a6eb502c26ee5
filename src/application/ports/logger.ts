import type { ServiceIdentifier } from 'inversify';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}
export const Logger: ServiceIdentifier<Logger> = Symbol.for('oxia.Logger');
