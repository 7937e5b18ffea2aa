import { connect } from 'node:net';
import type { VerifierSpec } from '../../shared/config/configure-schema.ts';
import { runProcess } from './process.ts';

/**
 * Verifiers check that the applied configuration works: an HTTP answer (status, body), a TCP port
 * that accepts connections, a command that exits 0. Each is retried `retries` times, `delay`
 * apart, and its outcome returned as data — a failing verifier is a result, not an exception.
 */

export interface VerifierResult {
  name: string;
  kind: VerifierSpec['kind'];
  ok: boolean;
  attempts: number;
  durationMs: number;
  /** Why the last attempt failed. */
  error?: string;
}

export interface VerifyOptions {
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Called after each failed attempt that will be retried. */
  onRetry?: (name: string, attempt: number, error: string) => void;
}

const MAX_BODY = 1024 * 1024;

/** Runs every verifier (concurrently); results in the order given. */
export function runVerifiers(specs: readonly VerifierSpec[], opts: VerifyOptions = {}): Promise<VerifierResult[]> {
  return Promise.all(specs.map((s) => runVerifier(s, opts)));
}

export async function runVerifier(spec: VerifierSpec, opts: VerifyOptions = {}): Promise<VerifierResult> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  let error = '';
  for (let attempt = 1; attempt <= spec.retries + 1; attempt++) {
    const failure = await check(spec);
    if (failure === undefined)
      return { name: spec.name, kind: spec.kind, ok: true, attempts: attempt, durationMs: Date.now() - started };
    error = failure;
    if (attempt <= spec.retries) {
      opts.onRetry?.(spec.name, attempt, failure);
      await sleep(spec.delay);
    }
  }
  return {
    name: spec.name,
    kind: spec.kind,
    ok: false,
    attempts: spec.retries + 1,
    durationMs: Date.now() - started,
    error,
  };
}

/** One attempt: undefined when it passed, else why not. */
async function check(spec: VerifierSpec): Promise<string | undefined> {
  switch (spec.kind) {
    case 'http':
      return checkHttp(spec);
    case 'tcp':
      return checkTcp(spec.host, spec.port, spec.timeout);
    case 'command': {
      const run = await runProcess('sh', ['-c', spec.command], { timeout: spec.timeout });
      if (run.spawnError) return run.spawnError;
      if (run.timedOut) return `timed out after ${spec.timeout} ms`;
      return run.code === 0 ? undefined : `exited with ${run.code ?? run.signal}`;
    }
  }
}

async function checkHttp(spec: Extract<VerifierSpec, { kind: 'http' }>): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(spec.url, { signal: AbortSignal.timeout(spec.timeout), redirect: 'manual' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.name === 'TimeoutError' ? `timed out after ${spec.timeout} ms` : (e.cause?.code ?? e.message);
  }
  let body = '';
  try {
    body = (await res.text()).slice(0, MAX_BODY);
  } catch (err) {
    return `reading the body: ${(err as Error).message}`;
  }
  if (res.status !== spec.status) return `status ${res.status}, expected ${spec.status}`;
  if (spec.body !== undefined && !body.includes(spec.body)) return `body does not contain ${JSON.stringify(spec.body)}`;
  if (spec.bodyMatch !== undefined && !new RegExp(spec.bodyMatch).test(body))
    return `body does not match /${spec.bodyMatch}/`;
  return undefined;
}

function checkTcp(host: string, port: number, timeout: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeout, () => done(`timed out after ${timeout} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
