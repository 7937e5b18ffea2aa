import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The Node versions PoolParty supports (package.json engines, README): the oldest of each line. */
const SUPPORTED = ['20.19.0', '22.13.0', '24.0.0'];

type Version = [number, number, number];
// An `x` part (`>= 10.x`) is a wildcard: as a lower bound it reads as 0.
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v
    .trim()
    .split('.')
    .map((p) => (p === 'x' ? 0 : Number(p)));
  return [a, b, c];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether `version` satisfies an npm engines range of the forms the dependency tree uses
 * (`>=X.Y.Z`, `>= X.x`, `^X.Y.Z`, alternatives joined by `||`). Anything else throws, so a new form fails
 * the test loudly instead of passing unchecked.
 */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alt) => {
    const part = alt.trim();
    const ge = /^>=\s*(\d+(?:\.(?:\d+|x)){0,2})$/.exec(part);
    if (ge) return cmp(v, parse(ge[1] as string)) >= 0;
    const caret = /^\^(\d+(?:\.\d+){0,2})$/.exec(part);
    if (caret) {
      const min = parse(caret[1] as string);
      return v[0] === min[0] && cmp(v, min) >= 0;
    }
    throw new Error(`engines range form not understood: ${JSON.stringify(range)}`);
  });
}

describe('dependencies fit the supported Node versions (no EBADENGINE on npm ci)', () => {
  it('the range check reads the forms in the tree', () => {
    expect(satisfies('20.19.0', '>=22')).toBe(false);
    expect(satisfies('22.13.0', '^20.19.0 || ^22.13.0 || >=23.5.0')).toBe(true);
    expect(satisfies('22.12.0', '^20.19.0 || ^22.13.0 || >=23.5.0')).toBe(false);
    expect(satisfies('20.19.0', '>= 10.x')).toBe(true);
    expect(satisfies('20.19.0', '>= 21.x')).toBe(false);
    expect(() => satisfies('20.19.0', '~20.1')).toThrow(/not understood/);
  });

  it("every locked package's engines.node admits each supported Node version", () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
    };
    const misfits: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const range = !Array.isArray(pkg.engines) ? pkg.engines?.node : undefined;
      if (!range || path === '') continue;
      for (const v of SUPPORTED) if (!satisfies(v, range)) misfits.push(`${path} wants node ${range}, not ${v}`);
    }
    expect(misfits).toEqual([]);
  });
});

describe('install scripts are reviewed (npm ci skips unreviewed ones and warns)', () => {
  it('every locked package with an install script is approved or denied in allowScripts', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const unreviewed = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
      .filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
    expect(unreviewed).toEqual([]);
    // esbuild's postinstall checks its platform binary; ssh2 and cpu-features only try to compile
    // optional native speed-ups (ssh2 falls back to JS), which would need a compiler on the node.
    expect(pkg.allowScripts).toMatchObject({ esbuild: true, ssh2: false, 'cpu-features': false });
  });
});
