// By name, apart from the bundle builder: the CLI maps them to exit codes without loading it.

/**
 * Errors of building a bundle from a valid definition: bad resources, templates, sources,
 * cookbooks. They are the user's to fix (exit 2), like a config error.
 */
export const COMPILE_ERRORS: ReadonlySet<string> = new Set([
  'BundleInputError',
  'BundleFormatError',
  'InvalidResourceError',
  'DuplicateResourceError',
  'UnknownResourceError',
  'ResourceCycleError',
  'TemplateError',
]);
