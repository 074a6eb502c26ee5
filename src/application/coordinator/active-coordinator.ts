import type { ServiceIdentifier } from 'inversify';
import type { Coordinator } from './coordinator.js';

/**
 * The Coordinator of this process's current leadership, for what serves requests on its behalf
 * (the admin API). A process that stands by has none: acting() then throws OxiaError
 * 'ResourceUnavailable' naming the lease, so that callers go to the coordinator that acts.
 */
export interface ActiveCoordinator {
  acting(): Coordinator;
}
export const ActiveCoordinator: ServiceIdentifier<ActiveCoordinator> = Symbol.for('oxia.ActiveCoordinator');
