/**
 * One error class per way a metric can fail, matched by `.name`. Read errors never escape the
 * sampler: they become a reading's one-line `error` string. Config errors are thrown by the
 * sampler's constructor.
 */

/** A custom metric name is empty, malformed or shadows a built-in. */
export class MetricNameError extends Error {
  override name = 'MetricNameError';
}

/** A sampler option (interval, timeout, count of metrics) is out of range. */
export class MetricConfigError extends Error {
  override name = 'MetricConfigError';
}

/** A read took longer than its source's timeout. */
export class MetricTimeoutError extends Error {
  override name = 'MetricTimeoutError';
}

/** A read was cut short because the sampler stopped. */
export class MetricStoppedError extends Error {
  override name = 'MetricStoppedError';
}

/** A command could not be run or exited unsuccessfully. */
export class MetricCommandError extends Error {
  override name = 'MetricCommandError';
}

/** A metric file could not be read. */
export class MetricFileError extends Error {
  override name = 'MetricFileError';
}

/** An HTTP source could not be reached or answered with a non-2xx status. */
export class MetricHttpError extends Error {
  override name = 'MetricHttpError';
}

/** An HTTP source's body passed the size limit; reading stopped there. */
export class MetricBodyTooLargeError extends MetricHttpError {
  override name = 'MetricBodyTooLargeError';
  constructor(
    readonly limit: number,
    /** Bytes received when reading stopped: at most the limit plus one chunk. */
    readonly bytesRead: number,
  ) {
    super(`body larger than ${limit} bytes`);
  }
}

/** A source answered, but not with a number where one was expected. */
export class MetricParseError extends Error {
  override name = 'MetricParseError';
}
