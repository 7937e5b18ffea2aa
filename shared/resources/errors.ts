/** Failures of resource compilation; each message is one line naming the resource. */

/** A resource with a bad attribute (shape, path, mode, name). */
export class InvalidResourceError extends Error {
  override name = 'InvalidResourceError';
}

/** Two resources with the same ref, or managing the same path. */
export class DuplicateResourceError extends Error {
  override name = 'DuplicateResourceError';
}

/** `requires`/`notifies` naming a resource that is not declared. */
export class UnknownResourceError extends Error {
  override name = 'UnknownResourceError';
}

/** A dependency cycle: `cycle: file[/a] -> exec[b] -> file[/a]` (read "depends on"). */
export class ResourceCycleError extends Error {
  override name = 'ResourceCycleError';
  constructor(readonly cycle: string[]) {
    super(`cycle: ${cycle.join(' -> ')}`);
  }
}

/** A template that cannot be rendered (unknown variable, bad syntax). */
export class TemplateError extends Error {
  override name = 'TemplateError';
}
