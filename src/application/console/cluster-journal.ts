import { injectable } from 'inversify';

/** What the coordinator did or saw, as the console lists it. */
export type JournalKind = 'election' | 'replica-move' | 'leader-move' | 'server-down' | 'server-up';

export interface JournalEntry {
  /** Wall-clock time (ms since the epoch) when it happened. */
  readonly atMs: number;
  readonly kind: JournalKind;
  /** `namespace/shard` for shard events. */
  readonly shard?: string | undefined;
  /** What happened, in a few words ("node-1 leads, term 4"). */
  readonly summary: string;
  /** Why it happened ("the leader node-0 was declared down"). */
  readonly reason: string;
}

/** How many entries are kept: enough for a page of history, bounded whatever the churn. */
export const JOURNAL_CAPACITY = 200;

/**
 * The recent elections, replica and leader moves and server state changes of this coordinator
 * process, with their reasons, for the web console (ADR 0028). A bounded ring in memory: it
 * starts empty with each process (the logs keep the full history), and it outlives leaderships,
 * so a coordinator that stood by and took over shows what it did before and after.
 */
@injectable()
export class ClusterJournal {
  private readonly entries: JournalEntry[] = [];
  private readonly listeners = new Set<() => void>();

  record(entry: JournalEntry): void {
    this.entries.push(entry);
    if (this.entries.length > JOURNAL_CAPACITY) this.entries.splice(0, this.entries.length - JOURNAL_CAPACITY);
    for (const listener of [...this.listeners]) listener();
  }

  /** Newest first. */
  recent(limit = JOURNAL_CAPACITY): readonly JournalEntry[] {
    return this.entries.slice(-limit).reverse();
  }

  /** `listener` runs after each new entry (the console pushes a fresh page); returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
