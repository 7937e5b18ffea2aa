import { randomBytes } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { latin1Literal } from '../scripts/build-artifact.mjs';
// @ts-expect-error: a plain .mjs module of the build, without type declarations
import { loadEmbedded } from '../scripts/embedded-module.mjs';

/**
 * The artifact embeds its lazily loaded modules' compressed bytes as string literals of one Latin-1
 * character per byte (scripts/build-artifact.mjs): V8 keeps the whole source, and base64 would
 * cost four characters per three bytes. What JavaScript reads back must be the bytes, every value,
 * and the literal must not widen the source (no character above U+00FF) nor break a line.
 */

const roundTrip = (bytes: Uint8Array) => Buffer.from(runInNewContext(latin1Literal(bytes)) as string, 'latin1');

describe('latin1Literal', () => {
  it('reads back as the same bytes: every byte value, the escaped ones next to digits, random data', () => {
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    // A NUL before a digit would be an octal escape if written \0: it is \x00.
    const tricky = Buffer.from([0, 0x31, 92, 0x30, 34, 10, 13, 0, 0, 0x37, 0xe2, 0x80, 0xa8]);
    for (const bytes of [every, tricky, randomBytes(100_000), new Uint8Array(0)]) {
      expect(roundTrip(bytes).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('holds one character per byte but for the five escaped, none above U+00FF, no line break', () => {
    const bytes = randomBytes(200_000);
    const literal = latin1Literal(bytes);
    expect(/[\u0100-\uffff]/.test(literal)).toBe(false);
    expect(/[\n\r]/.test(literal)).toBe(false);
    const escaped = bytes.filter((b) => b === 0 || b === 10 || b === 13 || b === 34 || b === 92).length;
    expect(literal.length).toBeLessThanOrEqual(bytes.length + 3 * escaped + 2);
    expect(literal.length).toBeLessThan(Math.ceil(bytes.length / 3) * 4);
  });

  it('a module embedded that way loads as the artifact loads it', () => {
    const packed = brotliCompressSync('module.exports = { answer: 6 * 7, url: __ppImportMetaUrl };');
    const blob = runInNewContext(latin1Literal(packed)) as string;
    const mod = loadEmbedded('test', blob, 'file:///opt/poolparty/poolparty-agent.mjs', 'latin1');
    expect(mod).toEqual({ answer: 42, url: 'file:///opt/poolparty/poolparty-agent.mjs' });
  });
});
