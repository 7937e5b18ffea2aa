import type { PluginInstance, Resource } from './types.ts';

/**
 * A plugin is a typed function from options to resources, published as an ordinary module:
 *
 *   export const motd = definePlugin({
 *     name: 'motd',
 *     build: (o: { text: string }) => [file('/etc/motd', { content: o.text })],
 *   });
 *   // clouds.ts: resources: [motd({ text: 'hi\n' }), file(...)]
 *
 * It may also bring a Chef cookbook directory (chef-solo only; its default recipe joins the run
 * list) and verifiers for what it sets up.
 */

export interface PluginOutput {
  resources: Resource[];
  cookbook?: string;
  verifiers?: unknown[];
}

export interface PluginDefinition<O> {
  /** Names the plugin in errors and summaries: lowercase letters, digits and '-'. */
  name: string;
  build: (opts: O) => Resource[] | PluginOutput;
}

export type Plugin<O> = ((opts: O) => PluginInstance) & { readonly pluginName: string };

export function definePlugin<O>(def: PluginDefinition<O>): Plugin<O> {
  const fn = (opts: O): PluginInstance => {
    const out = def.build(opts);
    const { resources, cookbook, verifiers } = Array.isArray(out) ? { resources: out } : out;
    const instance: PluginInstance = { kind: 'plugin', name: def.name, resources };
    if (cookbook !== undefined) instance.cookbook = cookbook;
    if (verifiers !== undefined) instance.verifiers = verifiers;
    return instance;
  };
  return Object.assign(fn, { pluginName: def.name });
}
