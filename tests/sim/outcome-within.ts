/** What a call came to: its value, its error, or 'pending' when it had not settled. */
export type Outcome<T> = { value: T } | { error: unknown } | 'pending';

/**
 * What `call` came to within `ms` of simulated time, `runFor` running the simulation
 * meanwhile (until the call settles or the time is up).
 */
export async function outcomeWithin<T>(
  runFor: (ms: number, done: () => boolean) => Promise<void>,
  ms: number,
  call: Promise<T>,
): Promise<Outcome<T>> {
  let outcome: { value: T } | { error: unknown } | undefined;
  call.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  );
  await runFor(ms, () => outcome !== undefined);
  return outcome ?? 'pending';
}
