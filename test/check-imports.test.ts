import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = resolve('scripts/check-imports.mjs');

interface CheckImports {
  checkImports(root: string, knownCycles?: string[][]): string[];
  KNOWN_CYCLES: string[][];
}
// A plain .mjs without types: imported by URL so the compiler does not look for a declaration.
const script = (await import(pathToFileURL(SCRIPT).href)) as CheckImports;

/** The layering check of `npm test`, run on small trees. */
describe('scripts/check-imports.mjs', () => {
  const roots: string[] = [];
  afterEach(async () => {
    for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
  });

  async function tree(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'poolparty-imports-'));
    roots.push(root);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  const AGENT_CYCLE = {
    'agent/agent.ts': "import { view } from './views.ts';\nexport const agent = view;\n",
    'agent/views.ts': "import type { agent } from './agent.ts';\nexport const view = 1;\n",
  };

  it('passes a tree whose only cycle is allowed; comments and strings do not count', async () => {
    const root = await tree({
      ...AGENT_CYCLE,
      'shared/a.ts': "// import { x } from '../agent/agent.ts';\nexport const s = \"import '../cli/b.ts'\";\n",
      'cli/b.ts': "import { s } from '../shared/a.ts';\nexport const b = s;\n",
    });
    expect(script.checkImports(root, [['agent/views.ts', 'agent/agent.ts']])).toEqual([]);
    expect(script.checkImports(root, [])).toEqual(['import cycle: agent/agent.ts ↔ agent/views.ts']);
  });

  it('fails on a new cycle, dynamic imports included', async () => {
    const root = await tree({
      'cli/a.ts': "export const a = () => import('./b.ts');\n",
      'cli/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
    });
    expect(script.checkImports(root, [])).toEqual(['import cycle: cli/a.ts ↔ cli/b.ts']);
  });

  it('fails when cli/ imports agent/ or shared/ imports cli/', async () => {
    const root = await tree({
      'agent/agent.ts': 'export const agent = 1;\n',
      'cli/push.ts': "import { agent } from '../agent/agent.ts';\nexport const p = agent;\n",
      'shared/x.ts': "export type { b } from '../cli/b.ts';\n",
      'cli/b.ts': 'export const b = 1;\n',
    });
    expect(script.checkImports(root, []).sort()).toEqual([
      'cli/push.ts imports agent/agent.ts: cli/ may not import agent/',
      'shared/x.ts imports cli/b.ts: shared/ may not import cli/',
    ]);
  });

  it('fails when an allowed cycle is gone, so the allow list cannot go stale', async () => {
    const root = await tree({
      'agent/agent.ts': 'export const agent = 1;\n',
      'agent/views.ts': 'export const view = 1;\n',
    });
    expect(script.checkImports(root, [['agent/agent.ts', 'agent/views.ts']])).toEqual([
      'allowed cycle agent/agent.ts ↔ agent/views.ts is gone: remove it from KNOWN_CYCLES in scripts/check-imports.mjs',
    ]);
  });

  it('as a command: exit 1 with one line per problem, exit 0 on a clean tree', async () => {
    // Whatever the script allows today is present, so only the planted import decides.
    const allowed: Record<string, string> = {};
    for (const cycle of script.KNOWN_CYCLES) {
      cycle.forEach((file, i) => {
        const next = cycle[(i + 1) % cycle.length] as string;
        allowed[file] = `import './${relative(dirname(file), next)}';\n`;
      });
    }
    const run = async (root: string) =>
      promisify(execFile)(process.execPath, [SCRIPT, root]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    const clean = await tree({ ...allowed, 'cli/b.ts': "import '../shared/s.ts';\n", 'shared/s.ts': '' });
    expect(await run(clean)).toEqual({ code: 0, stderr: '' });
    const bad = await tree({ ...allowed, 'cli/b.ts': "import '../agent/x.ts';\n", 'agent/x.ts': '' });
    expect(await run(bad)).toEqual({ code: 1, stderr: 'cli/b.ts imports agent/x.ts: cli/ may not import agent/\n' });
  });
});
