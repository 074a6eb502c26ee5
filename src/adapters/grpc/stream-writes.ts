/** Writing to a grpc-js stream without outrunning a slow peer. */
import type { Writable } from 'node:stream';

/**
 * Messages a writer lets a stream hold before it waits for one to be sent. grpc-js streams are
 * object-mode streams with the default high-water mark of 16 messages: with 1 MiB messages
 * (range scans of large values) that is 16 MiB per call before backpressure says anything.
 */
export const QUEUED_MESSAGES_MAX = 2;

/**
 * Writes `message`; when the stream then holds QUEUED_MESSAGES_MAX messages or more (or its
 * buffer is full), waits until this message was handed on, the stream closes or `signal`
 * aborts. Callers write the next message only after this resolves, so at most a few
 * responses are ever held per call.
 */
export async function writeRespectingBackpressure(stream: Writable, message: unknown, signal: AbortSignal): Promise<void> {
  let sent = false;
  let wake: (() => void) | undefined;
  const accepted = stream.write(message, () => {
    sent = true;
    wake?.();
  });
  if (accepted && stream.writableLength < QUEUED_MESSAGES_MAX) return;
  if (sent || signal.aborted || stream.destroyed || stream.writableEnded) return;
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
