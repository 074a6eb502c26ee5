/**
 * Runs async sections one at a time, in call order. A replica controller's protocol
 * calls (NewTerm, BecomeLeader, Truncate, snapshot install, delete) each read and
 * change its role and files across awaits: two interleaved would break the role state
 * machine's assumptions. Waiting sections are bounded by the number of concurrent calls.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
