import type { ResolverName } from '../../shared/config/configure-schema.ts';
import { type ChefSoloOptions, chefSoloResolver } from './chef-solo.ts';
import { type ItamaeOptions, itamaeResolver } from './itamae.ts';
import { type PuppetOptions, puppetResolver } from './puppet.ts';
import { NoResolverError, type Resolver } from './types.ts';

export interface ResolverOptions {
  'chef-solo'?: ChefSoloOptions;
  itamae?: ItamaeOptions;
  puppet?: PuppetOptions;
}

export function createResolver(name: ResolverName, options: ResolverOptions = {}): Resolver {
  switch (name) {
    case 'chef-solo':
      return chefSoloResolver(options['chef-solo']);
    case 'itamae':
      return itamaeResolver(options.itamae);
    case 'puppet':
      return puppetResolver(options.puppet);
  }
}

/**
 * The first resolver whose tool is installed, in the cloud's order (`resolver: ['chef-solo',
 * 'itamae']`). None available is a NoResolverError naming, for each, what to install.
 */
export async function selectResolver(resolvers: readonly Resolver[]): Promise<Resolver> {
  const missing: string[] = [];
  for (const r of resolvers) {
    const ok = await r.available();
    if (ok === true) return r;
    missing.push(`${r.name}: ${ok}`);
  }
  throw new NoResolverError(`no resolver available (${missing.join('; ')})`);
}
