/**
 * The Logger port on pino: one JSON object per line on stdout (or any stream), with
 * an ISO timestamp and the level as text, which is what log shippers and the
 * end-to-end tests read. Errors in fields named `err` or `error` keep their stack.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger as Pino } from 'pino';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import type { LogFields, Logger } from '../../application/ports/logger.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggingOptions {
  readonly level: LogLevel;
  /** Where lines go; stdout when absent. Tests pass an in-memory stream. */
  readonly destination?: DestinationStream;
  /** Fields on every line (e.g. the role: standalone, server, coordinator). */
  readonly base?: LogFields;
}
export const LoggingOptions: ServiceIdentifier<LoggingOptions> = Symbol.for('oxia.LoggingOptions');

class PinoChild implements Logger {
  constructor(protected readonly pino: Pino) {}
  debug(msg: string, fields?: LogFields): void {
    this.pino.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.pino.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.pino.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: LogFields): void {
    this.pino.error(fields ?? {}, msg);
  }
  child(fields: LogFields): Logger {
    return new PinoChild(this.pino.child(fields));
  }
}

@injectable()
export class PinoLogger extends PinoChild {
  private readonly stdout: ReturnType<typeof pino.destination> | undefined;
  /**
   * Every child logger made so far: pino's children keep the level they were made with,
   * so a level change at run time must reach each of them.
   */
  private readonly children: Set<WeakRef<Pino>>;

  constructor(@inject(LoggingOptions) options: LoggingOptions) {
    // Asynchronous stdout writes keep logging off the request path; flush() on exit.
    const stdout = options.destination ? undefined : pino.destination({ dest: 1, sync: false });
    // A reader that went away (EPIPE) must not take the server down with it.
    stdout?.on('error', () => {});
    const children = new Set<WeakRef<Pino>>();
    super(
      pino(
        {
          level: options.level,
          onChild: (child) => {
            children.add(new WeakRef(child));
          },
          base: options.base ?? {},
          timestamp: pino.stdTimeFunctions.isoTime,
          formatters: { level: (label) => ({ level: label }) },
          serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
        },
        options.destination ?? stdout,
      ),
    );
    this.stdout = stdout;
    this.children = children;
  }

  get level(): LogLevel {
    return this.pino.level as LogLevel;
  }

  /** Changes the level of this logger and of every child made from it (live configuration). */
  setLevel(level: LogLevel): void {
    this.pino.level = level;
    for (const ref of this.children) {
      const child = ref.deref();
      if (child === undefined) this.children.delete(ref);
      else child.level = level;
    }
  }

  /** Writes out buffered lines; call before the process exits. */
  flush(): void {
    try {
      this.stdout?.flushSync();
    } catch {
      // stdout already gone (closed pipe): nothing left to flush to.
    }
  }
}
