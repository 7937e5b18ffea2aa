import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { MetricSourceSpec } from '../../shared/wire/metrics.ts';
import { MetricBodyTooLargeError, MetricCommandError, MetricFileError, MetricHttpError } from './errors.ts';
import { numberAtPath, oneLine, parseLeadingNumber, parseNumber } from './parse.ts';

/**
 * Readers for custom metric sources. Each takes an AbortSignal and, once it fires, releases what
 * it holds (kills the command's process group, aborts the request) and rejects with the signal's
 * reason. Timeouts are not handled here: the poller aborts the signal when the source's timeout
 * passes, so every kind of source is bounded the same way.
 */

/** A source prints a number, not a document: anything bigger is a misconfigured source. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/** Reads one value from a source. Rejects with a one-line error naming what failed. */
export function readSource(spec: MetricSourceSpec, signal: AbortSignal): Promise<number> {
  switch (spec.kind) {
    case 'command':
      return readCommand(spec.command, signal);
    case 'file':
      return readFileNumber(spec.file, signal);
    case 'http':
      return readHttp(spec.http, spec.path, signal);
  }
}

/** Names a source for error messages, e.g. `command 'wc -l < /q'`. */
export function describeSource(spec: MetricSourceSpec): string {
  switch (spec.kind) {
    case 'command':
      return `command '${oneLine(spec.command, 60)}'`;
    case 'file':
      return `file ${oneLine(spec.file, 100)}`;
    case 'http':
      return `http ${oneLine(spec.http, 100)}${spec.path ? ` path ${oneLine(spec.path, 40)}` : ''}`;
  }
}

/**
 * Runs `sh -c command` in its own process group and parses the first number on stdout. On abort
 * the whole group is killed (so `sleep 100` started by the shell goes too) and the promise
 * settles once the shell has been reaped, so callers never see a pid that is still alive.
 */
export function readCommand(command: string, signal: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn('sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let aborted = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < MAX_OUTPUT_BYTES) stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_OUTPUT_BYTES) stderr += chunk;
    });

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup();
      // A grandchild that escaped the group could hold the pipes open; do not wait for them.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new MetricCommandError(`could not run sh: ${oneLine(err.message)}`));
    });
    // 'exit' after an abort (pipes were destroyed), 'close' otherwise so all of stdout is in.
    child.on('exit', () => {
      if (aborted) reject(signal.reason);
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (aborted) {
        reject(signal.reason);
        return;
      }
      if (code !== 0) {
        const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
        const detail = oneLine(stderr, 120);
        reject(new MetricCommandError(detail ? `${how}: ${detail}` : how));
        return;
      }
      try {
        resolve(parseLeadingNumber(stdout));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Reads a small file (e.g. one a job writes its queue length into) whose content is a number. */
export async function readFileNumber(file: string, signal: AbortSignal): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new MetricFileError(`cannot open: ${errorCode(err)}`);
  }
  try {
    // Read in chunks rather than trusting stat(): /proc and sysfs files report a size of 0.
    const buffer = Buffer.alloc(MAX_OUTPUT_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    signal.throwIfAborted();
    if (length > MAX_OUTPUT_BYTES) throw new MetricFileError(`larger than ${MAX_OUTPUT_BYTES} bytes`);
    return parseNumber(buffer.toString('utf8', 0, length));
  } catch (err) {
    if (signal.aborted || !(err instanceof Error) || err.name.startsWith('Metric')) throw err;
    throw new MetricFileError(`cannot read: ${errorCode(err)}`);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * GETs a URL. With a dot path the body is JSON and the number sits at that path; without one the
 * body itself is the number.
 */
export async function readHttp(url: string, path: string | undefined, signal: AbortSignal): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json, text/plain;q=0.9' } });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new MetricHttpError(`request failed: ${errorCode(err)}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new MetricHttpError(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_OUTPUT_BYTES) {
    await response.body?.cancel().catch(() => {});
    throw new MetricHttpError(`body larger than ${MAX_OUTPUT_BYTES} bytes`);
  }
  const body = await readBodyLimited(response, MAX_OUTPUT_BYTES, signal);
  if (!path) return parseNumber(body, 'body');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MetricHttpError(`body is not JSON: '${oneLine(body, 60)}'`);
  }
  return numberAtPath(json, path);
}

/**
 * Reads the body chunk by chunk and cancels the stream (which closes the connection) as soon as
 * more than `limit` bytes have arrived: Content-Length is absent from a chunked answer, so the
 * header check alone lets a 16 MB answer through. At most limit plus one chunk is ever held.
 */
export async function readBodyLimited(response: Response, limit: number, signal: AbortSignal): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytesRead = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytesRead += value.byteLength;
      if (bytesRead > limit) {
        await reader.cancel().catch(() => {});
        throw new MetricBodyTooLargeError(limit, bytesRead);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof MetricHttpError) throw err;
    if (signal.aborted) throw signal.reason;
    throw new MetricHttpError(`reading body failed: ${errorCode(err)}`);
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

const FRIENDLY: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  ECONNRESET: 'connection reset',
};

/** The most telling short description of a system error: its code, else its cause, else its message. */
function errorCode(err: unknown): string {
  if (!(err instanceof Error)) return oneLine(String(err));
  const code = (err as NodeJS.ErrnoException).code;
  if (code) return FRIENDLY[code] ? `${FRIENDLY[code]} (${code})` : code;
  if (err.cause instanceof Error) return errorCode(err.cause);
  return oneLine(err.message);
}
