import type * as z from 'zod';

/**
 * Error map for parsing: short messages in the form used by ConfigError
 * ("expected a number, got string"). Returns undefined to keep zod's message.
 */
export function describeIssue(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      return `expected ${article(String(iss.expected))}, got ${typeOf(iss.input)}`;
    case 'unrecognized_keys': {
      const known = knownKeys(iss.inst);
      const keys = (iss.keys as string[]).map((k) => {
        const near = nearest(k, known);
        return near ? `'${k}' (did you mean '${near}'?)` : `'${k}'`;
      });
      return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    case 'invalid_union':
      if (iss.discriminator !== undefined) {
        const options = (iss.options as unknown[]).map((o) => `'${String(o)}'`).join(', ');
        const value = (iss.input as Record<string, unknown> | undefined)?.[String(iss.discriminator)];
        return `unknown ${String(iss.discriminator)} ${JSON.stringify(value)} (expected ${options})`;
      }
      return undefined;
    case 'invalid_value':
      return `expected ${(iss.values as unknown[]).map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'string') return `must not be empty`;
      return `must be at least ${String(iss.minimum)}, got ${JSON.stringify(iss.input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters`;
      return `must be at most ${String(iss.maximum)}, got ${JSON.stringify(iss.input)}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  const word = expected === 'int' ? 'integer' : expected;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return String(value);
  return typeof value;
}

/** The keys an object schema knows (the issue carries the schema that raised it). */
function knownKeys(inst: unknown): string[] {
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * The known key a misspelt one most likely meant: the closest by edit distance, if that distance
 * is small for the key's length (one edit per 4 characters, at least 1, at most 3), else none.
 */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 4)));
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  return (d[a.length] as number[])[b.length] as number;
}
