import { ContainerModule } from 'inversify';
import { WalFactory } from '../../application/ports/wal.js';
import { FileWalFactory } from '../../adapters/wal-file/file-wal-factory.js';
import { WalDirectoryLock } from '../../adapters/wal-file/wal-directory-lock.js';
import { WalFileOptions } from '../../adapters/wal-file/wal-file-options.js';

/** WalFactory -> segment files on disk, in a directory one process holds (WalDirectoryLock). */
export function walModule(options: WalFileOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(WalFileOptions).toConstantValue(options);
    bind(WalFactory).to(FileWalFactory).inSingletonScope();
    bind(WalDirectoryLock).toSelf().inSingletonScope();
  });
}
