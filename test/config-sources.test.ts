import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Issue 14: one configuration source. Every `*_DEFAULTS` table in agent/, cli/ and shared/ must be
// a zod schema parsed from nothing (`Object.freeze(schema.parse({}))`), so a default, its unit and
// its meaning are written once, beside the field, and the type comes from the schema. A
// hand-written table (a literal object, or a copy of another table) fails here.

const root = join(import.meta.dirname, '..');
const FOLDERS = ['agent', 'cli', 'shared'];

/**
 * Plain frozen tables kept on purpose, each with why. UNPACK_DEFAULTS is read eagerly by every
 * agent, and a zod import there lands in the artifact's eagerly loaded code: zod (+75 KB, its
 * global registry with it) would stay in each idle follower's heap, which
 * test/agent-footprint.test.ts forbids (the agent's configurable values are its tunables, parsed
 * by a module loaded once at start and then dropped). The test fails when a listed table is
 * converted and still listed, so this list only shrinks.
 */
const NOT_YET: Record<string, string> = {
  'shared/bundle/unpack.ts:UNPACK_DEFAULTS': 'agent runtime, and not configuration: nothing but tests sets it',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Table {
  /** file:NAME, the file relative to the repository with '/'. */
  where: string;
  derived: boolean;
}

/** `<anything>.parse({})`: a schema's defaults. */
function parsesNothing(e: ts.Expression | undefined): boolean {
  if (!e || !ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return false;
  const [arg, ...more] = e.arguments;
  return (
    e.expression.name.text === 'parse' &&
    more.length === 0 &&
    arg !== undefined &&
    ts.isObjectLiteralExpression(arg) &&
    arg.properties.length === 0
  );
}

/**
 * `Object.freeze(<anything>.parse({}))`, or `Object.freeze(f())` where f is one of `parsers`
 * (functions whose whole body is `return <schema>.parse({})`): the only accepted forms.
 */
function isParsedFromNothing(init: ts.Expression | undefined, parsers: ReadonlySet<string> = new Set()): boolean {
  if (!init || !ts.isCallExpression(init) || init.expression.getText() !== 'Object.freeze') return false;
  const inner = init.arguments[0];
  if (parsesNothing(inner)) return true;
  return (
    inner !== undefined &&
    ts.isCallExpression(inner) &&
    inner.arguments.length === 0 &&
    ts.isIdentifier(inner.expression) &&
    parsers.has(inner.expression.text)
  );
}

/** Names of the functions in `src` that only return a schema parsed from nothing. */
function parserFunctions(src: ts.SourceFile): string[] {
  return src.statements.flatMap((s) => {
    if (!ts.isFunctionDeclaration(s) || !s.name || !s.body || s.parameters.length > 0) return [];
    const [only, ...more] = s.body.statements;
    const returnsParse = only !== undefined && ts.isReturnStatement(only) && parsesNothing(only.expression);
    return returnsParse && more.length === 0 ? [s.name.text] : [];
  });
}

const parsed = FOLDERS.flatMap((f) => sources(join(root, f))).map((file) => ({
  file,
  src: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
}));
const parsers = new Set(parsed.flatMap(({ src }) => parserFunctions(src)));

/** Every variable named *_DEFAULTS declared in `src`, with whether it is parsed from a schema. */
function defaultsTables(file: string, src: ts.SourceFile): Table[] {
  const rel = relative(root, file).split(sep).join('/');
  const out: Table[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /_DEFAULTS$/.test(node.name.text)) {
      out.push({ where: `${rel}:${node.name.text}`, derived: isParsedFromNothing(node.initializer, parsers) });
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

const tables = parsed.flatMap(({ file, src }) => defaultsTables(file, src));

describe('one configuration source', () => {
  it('finds the defaults tables (the scan itself works)', () => {
    const names = tables.map((t) => t.where);
    expect(names).toContain('shared/remoter/remoter-tunables.ts:EC2_REMOTER_DEFAULTS');
    expect(names).toContain('cli/terminate-limits.ts:FENCE_DEFAULTS');
    expect(names.length).toBeGreaterThanOrEqual(14);
  });

  it('tells a literal table from a parsed one', () => {
    const parse = (code: string) =>
      (ts.createSourceFile('x.ts', code, ts.ScriptTarget.Latest, true).statements[0] as ts.VariableStatement)
        .declarationList.declarations[0]?.initializer;
    expect(isParsedFromNothing(parse('const A = Object.freeze(s.parse({}));'))).toBe(true);
    expect(isParsedFromNothing(parse('const A = { a: 1 } as const;'))).toBe(false);
    expect(isParsedFromNothing(parse('const A = Object.freeze({ a: 1 });'))).toBe(false);
    expect(isParsedFromNothing(parse('const A = Object.freeze(s.parse({ a: 1 }));'))).toBe(false);
    expect(isParsedFromNothing(parse('const A = Object.freeze(f());'), new Set(['f']))).toBe(true);
    expect(isParsedFromNothing(parse('const A = Object.freeze(g());'), new Set(['f']))).toBe(false);
    expect(parsers.has('defaultScaling')).toBe(true);
  });

  it('derives every *_DEFAULTS table from its zod schema', () => {
    const handWritten = tables.filter((t) => !t.derived && !(t.where in NOT_YET)).map((t) => t.where);
    expect(handWritten, 'write these as a zod schema and Object.freeze(schema.parse({}))').toEqual([]);
  });

  it('lists as not yet converted only tables that still are hand-written', () => {
    const stillHandWritten = new Set(tables.filter((t) => !t.derived).map((t) => t.where));
    const stale = Object.keys(NOT_YET).filter((w) => !stillHandWritten.has(w));
    expect(stale, 'converted: remove from NOT_YET').toEqual([]);
  });

  it('freezes every exported defaults table, so no caller can change a default for everyone', async () => {
    for (const t of tables.filter((x) => x.derived)) {
      const [file, name] = t.where.split(':') as [string, string];
      const mod = (await import(join(root, file))) as Record<string, unknown>;
      if (name in mod) expect(Object.isFrozen(mod[name]), t.where).toBe(true);
    }
  });
});
