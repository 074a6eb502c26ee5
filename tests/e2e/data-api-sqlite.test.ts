import { dataApiSuite } from './data-api.suite.js';

dataApiSuite('sqlite', 1);
dataApiSuite('sqlite', 3);
