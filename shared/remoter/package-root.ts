import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export class PackageRootError extends Error {
  override name = 'PackageRootError';
}

let cached: string | undefined;

/**
 * The directory of the package.json named "poolparty", found by walking up from this module.
 * Works from the TypeScript sources (shared/remoter/) and from the bundle (dist/), which sit at
 * different depths. Bounded by the file system root.
 */
export function findPackageRoot(from: string = import.meta.url): string {
  if (cached !== undefined && from === import.meta.url) return cached;
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'poolparty') {
          if (from === import.meta.url) cached = dir;
          return dir;
        }
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new PackageRootError(`cannot find the poolparty package root above ${fileURLToPath(from)}`);
    dir = parent;
  }
}
