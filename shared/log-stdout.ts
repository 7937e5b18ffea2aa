import { writeSync } from 'node:fs';
import { isoTime } from './iso-time.ts';

/**
 * Log lines to a file descriptor without ever parking the event loop on it.
 *
 * A line is written at once with write(2), so it is on disk before the next statement when fd 1 is
 * a file (tests SIGKILL agents and the line that explains why must be there). When the reader is
 * a pipe or a socket that is full — the journal's stream socket while journald lags, a harness that
 * reads slowly — the write fails with EAGAIN. pino's own sync destination (sonic-boom) then sleeps
 * 100 ms in Atomics.wait and tries again, for as long as the reader stays behind: the main thread
 * sits in futex and answers no probe, no monitor request, not even SIGTERM, and its pool would
 * declare it dead (a child whose stdout is not read: no loop turn in 1.5 s, test/log-stdout.test.ts;
 * the "wedged" agents of BENCHMARKS.md sessions 14–18 were another cause, agent/p2p/noise-crypto.ts).
 * Here a write still waits for a reader that is reading (a line
 * SIGKILL follows reaches a live reader), but only while the reader takes something at least every
 * LOG_BLOCK_MS; then the lines wait in a bounded queue and are written when the reader takes them
 * again, without blocking. Past the bound they are dropped, counted, and the count is logged once
 * the queue drains: a lost log line costs less than a pool member frozen.
 */

/** Bytes of log lines held while the reader is behind; lines beyond it are dropped (counted). */
export const LOG_QUEUE_BYTES = 1 << 20;
/** How long a write waits for a full reader that takes nothing, before lines are queued (ms). */
export const LOG_BLOCK_MS = 1000;
/** How soon a full reader is tried again (ms). */
export const LOG_RETRY_MS = 50;
/** How long an exiting process keeps trying to hand its queued lines over (ms). */
export const LOG_EXIT_FLUSH_MS = 2000;

export interface LogSink {
  write(line: string): void;
  /** Writes what is queued, waiting at most `withinMs` for the reader (for exit: blocks). */
  flushSync(withinMs?: number): void;
}

type WriteFn = (fd: number, data: Buffer) => number;

export function nonBlockingSink(
  fd: number,
  opts: { maxQueued?: number; retryMs?: number; blockMs?: number; write?: WriteFn; now?: () => Date } = {},
): LogSink {
  const maxQueued = opts.maxQueued ?? LOG_QUEUE_BYTES;
  const blockMs = opts.blockMs ?? LOG_BLOCK_MS;
  const retryMs = opts.retryMs ?? LOG_RETRY_MS;
  const write: WriteFn = opts.write ?? ((f, data) => writeSync(f, data));
  const now = opts.now ?? (() => new Date());
  const queue: Buffer[] = [];
  let queued = 0;
  let dropped = 0;
  let since: Date | null = null;
  let timer: NodeJS.Timeout | null = null;

  const pause = new Int32Array(new SharedArrayBuffer(4));

  /**
   * Writes the queue until it is empty, or the reader is full and took nothing for `waitMs`
   * (0: not waiting at all); false if full.
   */
  const drain = (waitMs: number): boolean => {
    let stuckSince = 0;
    while (queue.length > 0) {
      const head = queue[0] as Buffer;
      let n: number;
      try {
        n = write(fd, head);
        stuckSince = 0;
      } catch (err) {
        if (isBusy(err)) {
          const t = Date.now();
          stuckSince ||= t;
          if (t - stuckSince >= waitMs) return false;
          Atomics.wait(pause, 0, 0, 2);
          continue;
        }
        // The reader is gone (EPIPE, EBADF): nothing can carry these lines any more.
        dropped += queue.length;
        queue.length = 0;
        queued = 0;
        return true;
      }
      queued -= n;
      if (n < head.length) queue[0] = head.subarray(n);
      else queue.shift();
    }
    if (dropped > 0 && since) {
      const line = `${JSON.stringify({ level: 'warn', time: isoTime(now()), msg: 'log-lines-dropped', dropped, since: isoTime(since), why: `the reader of fd ${fd} was full and ${maxQueued} bytes were queued` })}\n`;
      dropped = 0;
      since = null;
      // Past the bound on purpose: the queue is empty, and this line is what tells of the loss.
      const report = Buffer.from(line);
      queue.push(report);
      queued += report.length;
      return drain(waitMs);
    }
    since = null;
    return true;
  };

  const enqueue = (data: Buffer) => {
    if (queued + data.length > maxQueued) {
      dropped++;
      return;
    }
    queue.push(data);
    queued += data.length;
  };

  const retry = () => {
    timer = null;
    if (!drain(0)) schedule();
  };
  const schedule = () => {
    since ??= now();
    // unref: a queue of log lines must not keep an exiting process alive; flushSync does at exit.
    timer ??= setTimeout(retry, retryMs).unref();
  };

  return {
    write(line) {
      enqueue(Buffer.from(line));
      // Queued lines wait for the timer: the reader was stuck a moment ago, do not block on it again.
      if (timer === null && !drain(blockMs)) schedule();
    },
    flushSync(withinMs = LOG_EXIT_FLUSH_MS) {
      drain(withinMs);
    },
  };
}

function isBusy(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EBUSY';
}
