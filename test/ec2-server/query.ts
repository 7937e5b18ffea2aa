/**
 * The EC2 Query protocol's request body: form-encoded, with lists flattened as `Name.N` (1-based)
 * and structures as `Name.Member`, e.g. `TagSpecification.1.Tag.2.Key=poolparty:pool`.
 * parseQuery turns that into nested objects and arrays so handlers read `params.TagSpecification[0]`.
 */

export type QueryValue = string | QueryObject | QueryValue[];
export interface QueryObject {
  [key: string]: QueryValue;
}

export class QueryParseError extends Error {
  override name = 'QueryParseError';
}

/** Largest list index accepted: EC2 caps every list far below this; a huge index would allocate a huge array. */
const MAX_INDEX = 10_000;

export function parseQuery(body: string): QueryObject {
  const root: QueryObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    if (parts.some((p) => p === '')) throw new QueryParseError(`malformed parameter name '${key}'`);
    assign(root, parts, value, key);
  }
  return root;
}

function assign(container: QueryObject | QueryValue[], parts: string[], value: string, key: string): void {
  const [head, ...rest] = parts as [string, ...string[]];
  const index = /^\d+$/.test(head) ? Number(head) - 1 : undefined;
  if (Array.isArray(container) !== (index !== undefined)) {
    throw new QueryParseError(`parameter '${key}' mixes list and structure members`);
  }
  if (index !== undefined && (index < 0 || index >= MAX_INDEX)) {
    throw new QueryParseError(`parameter '${key}': list index out of range`);
  }
  const slot = index ?? head;
  const holder = container as Record<string | number, QueryValue | undefined>;
  if (rest.length === 0) {
    holder[slot] = value;
    return;
  }
  const nextIsIndex = /^\d+$/.test(rest[0] as string);
  let child = holder[slot];
  if (child === undefined) {
    child = nextIsIndex ? [] : {};
    holder[slot] = child;
  }
  if (typeof child === 'string') throw new QueryParseError(`parameter '${key}' is both a value and a structure`);
  assign(child, rest, value, key);
}

/** A list parameter as a dense array (holes from skipped indexes dropped). */
export function list(value: QueryValue | undefined): QueryValue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new QueryParseError('expected a list parameter');
  return value.filter((v) => v !== undefined);
}

export function str(value: QueryValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new QueryParseError('expected a scalar parameter');
  return value;
}

export function obj(value: QueryValue | undefined): QueryObject {
  if (value === undefined) return {};
  if (typeof value === 'string' || Array.isArray(value)) throw new QueryParseError('expected a structure parameter');
  return value;
}
