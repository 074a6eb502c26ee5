import { fileURLToPath } from 'node:url';
import { LevelKvStoreFactory } from '../../src/adapters/kv-level/level-kv-store-factory.js';
import { kvStoreContract, kvStoreCrashContract } from '../contracts/kv-store.contract.js';

const make = (dataDir: string) => new LevelKvStoreFactory({ dataDir });
kvStoreContract('level', make);
kvStoreCrashContract(
  'level',
  { modulePath: fileURLToPath(new URL('../../src/adapters/kv-level/level-kv-store-factory.ts', import.meta.url)), exportName: 'LevelKvStoreFactory' },
  make,
);
