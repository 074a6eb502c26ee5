import type { KvSnapshot } from '../ports/kv-store.js';

/** One holder's use of a shared view; release it when done reading (once). */
export interface StoreViewLease {
  readonly view: KvSnapshot;
  release(): Promise<void>;
}

/** A view being taken or taken, and how many holders have not released it yet. */
interface Round {
  holders: number;
  readonly view: Promise<KvSnapshot>;
}

/**
 * Frozen views of a store shared by those that ask for one at about the same time (the split
 * observers of one parent, ADR 0025, are added together): the first request opens a short
 * window, every request in it gets the view taken when the window closes, and the view is
 * closed once the last of them released it. A view taken after a request is as good for it as
 * its own (a feed subscribes to the applied entries before it asks). With SQLite each view is a
 * copy of the whole file: one per parent instead of one per child replica saves most of it.
 */
export class SharedStoreView {
  private open: Round | undefined;

  constructor(
    private readonly take: () => Promise<KvSnapshot>,
    private readonly windowMs: number,
  ) {}

  async acquire(): Promise<StoreViewLease> {
    let round = this.open;
    if (!round) {
      const window = new Promise<void>((resolve) => setTimeout(resolve, this.windowMs));
      const opened: Round = {
        holders: 0,
        view: window.then(() => {
          // Requests from now on start the next round: this view may be older than them.
          if (this.open === opened) this.open = undefined;
          return this.take();
        }),
      };
      this.open = round = opened;
    }
    round.holders++;
    let view: KvSnapshot;
    try {
      view = await round.view;
    } catch (error) {
      round.holders--;
      throw error;
    }
    let released = false;
    const shared = round;
    return {
      view,
      release: async () => {
        if (released) return;
        released = true;
        if (--shared.holders === 0) await view.close();
      },
    };
  }
}
