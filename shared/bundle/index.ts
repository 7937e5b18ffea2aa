/** The bundle: deterministic build, and safe unpacking on a node. */
export {
  BUNDLE_FORMAT,
  type Bundle,
  type BundleInput,
  type BundleManifest,
  type BundleSummary,
  buildBundle,
  writeBundle,
} from './build.ts';
export {
  BundleFormatError,
  BundleHashMismatchError,
  BundleInputError,
  BundleTargetExistsError,
  BundleTooLargeError,
  UnsafeArchiveError,
} from './errors.ts';
export { UNPACK_DEFAULTS, type UnpackOptions, type UnpackResult, unpackBundle } from './unpack.ts';
