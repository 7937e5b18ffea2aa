/**
 * String literals for generated Ruby and Puppet. Both languages share the single-quoted rule
 * (only `\\` and `\'` are escapes; newlines are literal), so ordinary text reads as written in
 * both outputs. Anything else — control characters, bytes that are not UTF-8 — takes a form
 * that cannot be misread: escaped double quotes, or base64 for binary file content.
 */

/** True when `s` has no control characters other than tab and newline. */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f) return false;
  }
  return true;
}

function singleQuoted(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function escapeChar(c: string, dollar: boolean): string {
  if (c === '\\') return '\\\\';
  if (c === '"') return '\\"';
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '#' && !dollar) return '\\#';
  if (c === '$' && dollar) return '\\$';
  const code = c.codePointAt(0) as number;
  if (code < 0x20 || code === 0x7f) return `\\u{${code.toString(16)}}`;
  return c;
}

/** A Ruby string literal with exactly `s`'s characters. */
export function rubyString(s: string): string {
  if (isPlain(s)) return singleQuoted(s);
  return `"${Array.from(s, (c) => escapeChar(c, false)).join('')}"`;
}

/** A Puppet string literal with exactly `s`'s characters (no interpolation). */
export function puppetString(s: string): string {
  if (isPlain(s)) return singleQuoted(s);
  return `"${Array.from(s, (c) => escapeChar(c, true)).join('')}"`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Text when the bytes are UTF-8, undefined when they are binary. */
export function asText(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** File content for Ruby: a literal, or base64 decoded at run time for binary bytes. */
export function rubyContent(bytes: Buffer): string {
  const text = asText(bytes);
  return text !== undefined ? rubyString(text) : `${singleQuoted(bytes.toString('base64'))}.unpack1('m0')`;
}

/** File content for Puppet: a literal, or a Binary value for binary bytes. */
export function puppetContent(bytes: Buffer): string {
  const text = asText(bytes);
  return text !== undefined ? puppetString(text) : `Binary(${singleQuoted(bytes.toString('base64'))})`;
}

/** JSON with sorted keys and 2-space indent: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}
