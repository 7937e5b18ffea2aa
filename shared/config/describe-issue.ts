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
      const keys = (iss.keys as string[]).map((k) => `'${k}'`).join(', ');
      return `unknown key${(iss.keys as string[]).length > 1 ? 's' : ''} ${keys}`;
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
