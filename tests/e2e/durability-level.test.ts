import { durabilitySuite, test } from './durability.suite.js';

durabilitySuite('level', 2, 2);
test.run();
