import { dataApiSuite } from './data-api.suite.js';

dataApiSuite('level', 1);
dataApiSuite('level', 3);
