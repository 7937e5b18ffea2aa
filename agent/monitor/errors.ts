import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one error type the monitor turns into an HTTP response. Its message is shown to the client,
 * so it must never carry internals; anything that is not an HttpError becomes a bare 500.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: ContentfulStatusCode;
  readonly headers: Record<string, string>;
  /** Extra JSON fields sent beside `error` (e.g. the path that was not found). */
  readonly body: object;

  constructor(
    status: ContentfulStatusCode,
    message: string,
    opts: { headers?: Record<string, string>; body?: object } = {},
  ) {
    super(message);
    this.status = status;
    this.headers = opts.headers ?? {};
    this.body = opts.body ?? {};
  }
}

/** The monitor could not bind its listening socket (address in use, no such address, no permission). */
export class MonitorBindError extends Error {
  override name = 'MonitorBindError';
  readonly code: string | undefined;

  constructor(host: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = code ?? (cause instanceof Error ? cause.message : String(cause));
    super(`monitor cannot listen on ${host}:${port}: ${reason}`, { cause });
    this.code = code;
  }
}
