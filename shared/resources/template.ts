import { TemplateError } from './errors.ts';
import type { TemplateValue } from './types.ts';

/**
 * The template syntax, rendered when the bundle is built so Chef, itamae and Puppet all write the
 * same bytes (ERB and EPP differ in whitespace handling and escaping; one renderer cannot):
 *
 *   {{ name }}, {{ site.port }}   replaced by the variable (string, number or boolean)
 *   \{{                           a literal '{{'
 *
 * Nothing else is special: no loops, no conditionals — compute those in TypeScript.
 */

const TAG = /\\\{\{|\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}|\{\{/g;

/** Renders `text`; `what` names the template in errors (e.g. 'template[/etc/nginx/site]'). */
export function renderTemplate(text: string, variables: Record<string, TemplateValue>, what: string): string {
  return text.replace(TAG, (match, name: string | undefined, offset: number) => {
    if (match === '\\{{') return '{{';
    if (name === undefined) {
      const line = text.slice(0, offset).split('\n').length;
      throw new TemplateError(`${what}: line ${line}: '{{' must be followed by a variable name and '}}'`);
    }
    let value: TemplateValue | undefined = variables;
    for (const part of name.split('.')) {
      value =
        value !== null && typeof value === 'object' && Object.hasOwn(value, part)
          ? (value as Record<string, TemplateValue>)[part]
          : undefined;
    }
    if (value === undefined) throw new TemplateError(`${what}: variable '${name}' is not defined`);
    if (typeof value === 'object') throw new TemplateError(`${what}: variable '${name}' is an object, not a value`);
    return String(value);
  });
}
