/**
 * Where each term starts in the log. Terms change rarely, so this answers "term of
 * offset X" (needed for the head after truncateAfter) without a term per entry in memory.
 */
export class TermIndex {
  private readonly startOffsets: bigint[] = [];
  private readonly terms: bigint[] = [];

  /** Notes entry (offset, term); entries arrive in offset order. */
  note(offset: bigint, term: bigint): void {
    if (this.terms.length === 0 || this.terms[this.terms.length - 1] !== term) {
      this.startOffsets.push(offset);
      this.terms.push(term);
    }
  }

  /** Term of the entry at `offset`, which must be at or after the first noted entry. */
  termAt(offset: bigint): bigint {
    let lo = 0;
    let hi = this.startOffsets.length - 1;
    if (hi < 0 || offset < this.startOffsets[0]!) throw new Error(`assertion: no term known for offset ${offset}`);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.startOffsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo]!;
  }

  /** Forgets entries after `offset`. */
  truncateAfter(offset: bigint): void {
    while (this.startOffsets.length > 0 && this.startOffsets[this.startOffsets.length - 1]! > offset) {
      this.startOffsets.pop();
      this.terms.pop();
    }
  }

  /** Forgets starts no longer needed once `offset` is the first entry. */
  trimBefore(offset: bigint): void {
    let drop = 0;
    while (drop + 1 < this.startOffsets.length && this.startOffsets[drop + 1]! <= offset) drop++;
    this.startOffsets.splice(0, drop);
    this.terms.splice(0, drop);
  }

  clear(): void {
    this.startOffsets.length = 0;
    this.terms.length = 0;
  }
}
