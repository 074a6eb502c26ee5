/** Writing to a grpc-js stream without outrunning a slow peer. */
import type { Writable } from 'node:stream';

/**
 * Messages a writer lets a stream hold before it waits for one to be sent. grpc-js streams are
 * object-mode streams with the default high-water mark of 16 messages: with 1 MiB messages
 * (range scans of large values) that is 16 MiB per call before backpressure says anything.
 */
export const QUEUED_MESSAGES_MAX = 2;

/**
 * Writes `message` and says whether the writer may go on at once: false when the stream now
 * holds QUEUED_MESSAGES_MAX messages or more (or its buffer is full). `onSent` runs once the
 * message was handed on (also when the stream failed), never before this returns.
 */
export function writeBounded(stream: Writable, message: unknown, onSent: () => void): boolean {
  const accepted = stream.write(message, () => onSent());
  return accepted && stream.writableLength < QUEUED_MESSAGES_MAX;
}

/**
 * Writes `message`; when the stream then holds too many messages (writeBounded), waits until
 * this one was handed on, the stream closes or `signal` aborts. Callers write the next message
 * only after this resolves, so at most a few responses are ever held per call.
 */
export async function writeRespectingBackpressure(stream: Writable, message: unknown, signal: AbortSignal): Promise<void> {
  let wake: (() => void) | undefined;
  if (writeBounded(stream, message, () => wake?.())) return;
  if (signal.aborted || stream.destroyed || stream.writableEnded) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.removeListener('close', done);
      stream.removeListener('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    wake = done;
    stream.on('close', done);
    stream.on('error', done);
    signal.addEventListener('abort', done);
  });
}
