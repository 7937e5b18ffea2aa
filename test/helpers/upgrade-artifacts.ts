/**
 * The built agent's readiness check (agent/monitor/readiness.ts), minified or not: what GET /ready
 * answers and what the health gate of a restart waits for.
 */
const READINESS = /return\s*\{\s*ready:\s*([\w$]+\s*&&\s*[\w$]+\s*&&\s*[\w$]+)\s*,\s*checks(?::\s*([\w$]+))?\s*\}/g;

/**
 * The built agent with one change: it is ready only while `also` (a JavaScript expression, in
 * the artifact's scope, where `require` is defined) is true as well. It starts, joins and gossips
 * like the agent it came from; `'false'` makes an agent that never becomes ready. Throws when
 * the readiness check is not found exactly once, so a change to it fails the test that uses this.
 */
export function withReadiness(built: Buffer, also: string): Buffer {
  const source = built.toString('utf8');
  const found = [...source.matchAll(READINESS)].length;
  if (found !== 1) throw new Error(`the built agent's readiness check was found ${found} times, not once`);
  return Buffer.from(
    source.replace(
      READINESS,
      (_, checks: string, view?: string) => `return{ready:(${checks})&&(${also}),checks:${view ?? 'checks'}}`,
    ),
  );
}

/** A JavaScript expression, true while the file `path` does not exist. */
export const absent = (path: string): string => `!require("node:fs").existsSync(${JSON.stringify(path)})`;
