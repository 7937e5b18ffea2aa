import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = resolve('scripts/check-imports.mjs');

/** The layering check of `npm test`, run on small trees. */
describe('scripts/check-imports.mjs', () => {
  const roots: string[] = [];
  afterEach(async () => {
    for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
  });

  /** A tree holding the allow-listed agent cycle plus `files`. */
  async function tree(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'poolparty-imports-'));
    roots.push(root);
    const all = {
      'agent/agent.ts': "import { view } from './views.ts';\nexport const agent = view;\n",
      'agent/views.ts': "import type { agent } from './agent.ts';\nexport const view = 1;\n",
      ...files,
    };
    for (const [path, text] of Object.entries(all)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  async function check(root: string): Promise<{ code: number; stderr: string }> {
    try {
      await promisify(execFile)(process.execPath, [SCRIPT, root]);
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  }

  it('passes a tree whose only cycle is the allow-listed one; comments and strings do not count', async () => {
    const root = await tree({
      'shared/a.ts': "// import { x } from '../agent/agent.ts';\nexport const s = \"import '../cli/b.ts'\";\n",
      'cli/b.ts': "import { s } from '../shared/a.ts';\nexport const b = s;\n",
    });
    expect(await check(root)).toEqual({ code: 0, stderr: '' });
  });

  it('fails on a new cycle, dynamic imports included', async () => {
    const root = await tree({
      'cli/a.ts': "export const a = () => import('./b.ts');\n",
      'cli/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
    });
    expect(await check(root)).toEqual({ code: 1, stderr: 'import cycle: cli/a.ts ↔ cli/b.ts\n' });
  });

  it('fails when cli/ imports agent/ or shared/ imports cli/', async () => {
    const root = await tree({
      'cli/push.ts': "import { agent } from '../agent/agent.ts';\nexport const p = agent;\n",
      'shared/x.ts': "export type { b } from '../cli/b.ts';\n",
      'cli/b.ts': 'export const b = 1;\n',
    });
    const { code, stderr } = await check(root);
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean).sort()).toEqual([
      'cli/push.ts imports agent/agent.ts: cli/ may not import agent/',
      'shared/x.ts imports cli/b.ts: shared/ may not import cli/',
    ]);
  });

  it('fails when the allow-listed cycle is gone, so the allow list cannot go stale', async () => {
    const root = await tree({ 'agent/views.ts': 'export const view = 1;\n' });
    expect(await check(root)).toEqual({
      code: 1,
      stderr:
        'allowed cycle agent/agent.ts ↔ agent/views.ts is gone: remove it from KNOWN_CYCLES in scripts/check-imports.mjs\n',
    });
  });
});
