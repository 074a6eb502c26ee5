import { ContainerModule } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { LoggingOptions, PinoLogger } from '../../adapters/logging/pino-logger.js';

/** Logger -> pino, JSON lines. */
export function loggingModule(options: LoggingOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(LoggingOptions).toConstantValue(options);
    bind(PinoLogger).toSelf().inSingletonScope();
    bind(Logger).toService(PinoLogger);
  });
}
