import { durabilitySuite, test } from './durability.suite.js';

durabilitySuite('sqlite', 2, 2);
test.run();
