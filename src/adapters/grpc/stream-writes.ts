/** Writing to a grpc-js server stream without outrunning a slow client. */
import type { Writable } from 'node:stream';

/**
 * Writes `message` and, when the stream's buffer is full (write() returned false),
 * waits until it drains, the stream closes or `signal` aborts. Callers write the
 * next message only after this resolves, so at most one buffer's worth of
 * responses is ever held per call.
 */
export async function writeRespectingBackpressure(stream: Writable, message: unknown, signal: AbortSignal): Promise<void> {
  if (stream.write(message)) return;
  if (signal.aborted || stream.destroyed || stream.writableEnded) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      stream.removeListener('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
    signal.addEventListener('abort', done);
  });
}
