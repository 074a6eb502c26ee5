import { diskFullSuite, test } from './disk-full.suite.js';

diskFullSuite('sqlite');
test.run();
