import type { Logger } from '../../application/ports/logger.js';

/**
 * Subscribers of a watched value (config, node list). A throwing listener is logged and does
 * not stop the others: one consumer's bug must not hide a change from the rest.
 */
export class ListenerSet<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  add(listener: (value: T) => void): () => void {
    // Wrapped, so that subscribing the same function twice gives two independent subscriptions.
    const entry = (value: T): void => listener(value);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  notify(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        this.logger.error(`a ${this.what} listener failed`, { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
