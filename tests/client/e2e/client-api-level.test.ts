import { clientApiSuite } from './client-api.suite.js';

clientApiSuite('level', 1);
clientApiSuite('level', 3);
