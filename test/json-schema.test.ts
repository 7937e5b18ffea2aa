import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createJiti } from 'jiti';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { poolJsonSchema } from '../cli/json-schema.ts';
import { poolSchema } from '../shared/config/schema.ts';

/** The JSON Schema read back by zod: what an editor's validator would accept. */
const validator = z.fromJSONSchema(poolJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);

/** An example's default export as written (before parsing), loaded as shared/config/load.ts does. */
async function rawExample(name: string): Promise<unknown> {
  const jiti = createJiti(import.meta.url, {
    alias: { poolparty: resolve('shared/index.ts') },
    moduleCache: false,
    interopDefault: false,
  });
  return ((await jiti.import(resolve('examples', name, 'clouds.ts'))) as { default: unknown }).default;
}

const pool = (cloud: Record<string, unknown>) => ({
  name: 'x',
  clouds: { web: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, ...cloud } },
});

describe('clouds JSON Schema (cli/json-schema.ts)', () => {
  it.each(['local', 'ssh', 'ec2', 'configure'])(
    'accepts examples/%s/clouds.ts, as the zod schema does',
    async (name) => {
      const raw = await rawExample(name);
      expect(poolSchema.safeParse(raw).success).toBe(true);
      const checked = validator.safeParse(raw);
      expect(checked.error?.issues ?? []).toEqual([]);
    },
  );

  it('durations and custom metrics are described, not left open', () => {
    expect(validator.safeParse(pool({ scaling: { interval: '5s', drainTimeout: 30_000 } })).success).toBe(true);
    for (const interval of ['5 minutes', '5', -1, true]) {
      expect(validator.safeParse(pool({ scaling: { interval } })).success, String(interval)).toBe(false);
      expect(poolSchema.safeParse(pool({ scaling: { interval } })).success, String(interval)).toBe(false);
    }
    const metric = (m: unknown) => validator.safeParse(pool({ metrics: { q: m } })).success;
    expect(metric({ file: 'queue', every: '1s' })).toBe(true);
    expect(metric({ http: 'http://127.0.0.1:9/q', path: 'a.b', timeout: 500 })).toBe(true);
    expect(metric({ file: 'queue', command: 'echo 1' })).toBe(false);
    expect(metric({ every: '1s' })).toBe(false);
    expect(metric({ file: 'queue', every: 'soon' })).toBe(false);
  });

  it('a misspelled key is refused, as loading refuses it', () => {
    const typo = { name: 'x', clouds: { web: { instancez: { min: 1, max: 2 }, using: { provider: 'local' } } } };
    const paths = validator.safeParse(typo).error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['clouds.web', 'clouds.web.instances']));
  });

  it('only free-form parts accept anything: a new field zod cannot describe fails here', () => {
    const open: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (v !== null && typeof v === 'object') {
        const empty = !Array.isArray(v) && Object.keys(v).length === 0;
        if (empty && !path.endsWith('/default')) open.push(path);
        for (const [k, c] of Object.entries(v)) walk(c, `${path}/${k}`);
      }
    };
    walk(poolJsonSchema(), '');
    const cloud = '/properties/clouds/additionalProperties/properties';
    // resources: file, package, service… items, each parsed by its own kind; attributes: the user's.
    expect(open.sort(), 'a field the JSON Schema leaves open: describe it in cli/json-schema.ts').toEqual([
      `${cloud}/attributes/additionalProperties`,
      `${cloud}/resources/items`,
    ]);
  });

  it('poolparty schema prints it (the built CLI)', () => {
    const res = spawnSync(process.execPath, ['bin/poolparty.mjs', 'schema'], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(JSON.parse(JSON.stringify(poolJsonSchema())));
  });
});
