import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleManifest } from '../../shared/bundle/build.ts';
import { BundleFormatError } from '../../shared/bundle/errors.ts';
import type { Hooks, VerifierSpec } from '../../shared/config/configure-schema.ts';

/** Reads the JSON files of an unpacked bundle (bundle.json, verifiers.json, hooks.json). */

async function readJson<T>(dir: string, name: string): Promise<T> {
  try {
    return JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
  } catch (err) {
    throw new BundleFormatError(`${name} in ${dir}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export const readBundleManifest = (dir: string) => readJson<BundleManifest>(dir, 'bundle.json');
export const readVerifiers = (dir: string) => readJson<VerifierSpec[]>(dir, 'verifiers.json');
export const readHooks = (dir: string) => readJson<Hooks>(dir, 'hooks.json');
