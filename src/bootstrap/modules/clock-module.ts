import { ContainerModule } from 'inversify';
import { Clock } from '../../application/ports/clock.js';
import { SystemClock, SystemClockOptions } from '../../adapters/clock/system-clock.js';

/** Clock -> the process's real clocks. */
export function clockModule(options: SystemClockOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(SystemClockOptions).toConstantValue(options);
    bind(SystemClock).toSelf().inSingletonScope();
    bind(Clock).toService(SystemClock);
  });
}
