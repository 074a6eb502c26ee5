import type { LogFields, Logger } from '../../../src/application/ports/logger.js';

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: LogFields;
}

/** A Logger that keeps what it is told, so tests can assert on warnings; prints too when OXIA_TEST_LOG=1. */
export class RecordingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly base: LogFields = {},
  ) {}

  private add(level: LogRecord['level'], msg: string, fields: LogFields = {}): void {
    const rec = { level, msg, fields: { ...this.base, ...fields } };
    this.records.push(rec);
    if (this.records.length > 10_000) this.records.shift();
    if (process.env.OXIA_TEST_LOG === '1') console.error(`[${level}] ${msg}`, rec.fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.add('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.add('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.add('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.add('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new RecordingLogger(this.records, { ...this.base, ...fields });
  }

  messages(level?: LogRecord['level']): string[] {
    return this.records.filter((r) => level === undefined || r.level === level).map((r) => r.msg);
  }
}
