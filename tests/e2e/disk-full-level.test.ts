import { diskFullSuite, test } from './disk-full.suite.js';

diskFullSuite('level');
test.run();
