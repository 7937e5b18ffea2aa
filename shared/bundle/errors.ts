/** Failures of building or unpacking a bundle; matched by `.name`, messages are one line. */

/** The bytes do not hash to the expected sha256: nothing was unpacked. */
export class BundleHashMismatchError extends Error {
  override name = 'BundleHashMismatchError';
}

/** Not a readable gzip/tar, or a bundle that cannot be written in the format. */
export class BundleFormatError extends Error {
  override name = 'BundleFormatError';
}

/** An entry that could write outside the target: absolute path, '..', escaping link, device file. */
export class UnsafeArchiveError extends Error {
  override name = 'UnsafeArchiveError';
}

/** More bytes or entries than the limits allow (a gzip bomb, or simply a runaway bundle). */
export class BundleTooLargeError extends Error {
  override name = 'BundleTooLargeError';
}

/** The unpack target already exists: bundles are unpacked once, into a fresh directory. */
export class BundleTargetExistsError extends Error {
  override name = 'BundleTargetExistsError';
}

/** A bundle input that cannot be built: unreadable source, bad cookbook. */
export class BundleInputError extends Error {
  override name = 'BundleInputError';
}
