// The long fault-injection run (npm run test:long): many kill -9 rounds on both backends.
import { durabilitySuite, test } from './durability.suite.js';

durabilitySuite('sqlite', 15, 3);
durabilitySuite('level', 15, 3);
test.run();
