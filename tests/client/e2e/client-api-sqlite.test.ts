import { clientApiSuite } from './client-api.suite.js';

clientApiSuite('sqlite', 1);
clientApiSuite('sqlite', 3);
