import { describe, expect, it } from 'vitest';
import { type Check, checkCloud, checkPool, checksText, type Facts, overlap, worst } from '../cli/validate-checks.ts';
import { iniSection } from '../cli/validate-machine.ts';
import { parsePool } from '../shared/config/load.ts';
import type { CloudDefinition } from '../shared/config/schema.ts';
import { parseRule } from '../shared/scaling/rule.ts';

/** A machine with nothing on it: no files, nothing on PATH, an empty environment. */
function facts(over: Partial<Facts> = {}): Facts {
  return { env: {}, readable: () => false, onPath: () => undefined, readText: () => undefined, ...over };
}

function cloud(fields: Record<string, unknown>): CloudDefinition {
  const pool = parsePool(
    { name: 'p', clouds: { web: { instances: { min: 1, max: 4 }, using: { provider: 'local' }, ...fields } } },
    'clouds.ts',
  );
  return pool.clouds.web as CloudDefinition;
}

const of = (checks: Check[], level: Check['level']) => checks.filter((c) => c.level === level).map((c) => c.message);

describe('validate checks', () => {
  it('a plain local cloud passes with each check ok, named by cloud', () => {
    const checks = checkCloud('web', cloud({}), facts());
    expect(worst(checks)).toBe('ok');
    expect(checks.every((c) => c.cloud === 'web')).toBe(true);
    expect(checks.map((c) => c.check)).toEqual(['instances', 'rules', 'resolver']);
    expect(of(checks, 'ok')).toContain('nothing to configure: no bundle is built');
  });

  it('says where each metric a rule reads comes from', () => {
    const c = cloud({
      metrics: { queue: { file: 'q' }, spare: { file: 's' } },
      scaling: { expandWhen: 'queue > 10 and max(cpu) > 90 for 30s', contractWhen: 'load < 0.2 for 2m' },
    });
    const ok = of(checkCloud('web', c, facts()), 'ok');
    expect(ok).toContain('expandWhen reads queue (defined), cpu (built-in)');
    expect(ok).toContain('contractWhen reads load (built-in)');
    expect(ok).toContain('metric spare sampled but read by no rule (shown by status and the live page)');
  });

  it('warns when rules can never act, a window is shorter than the interval, or rules overlap', () => {
    const fixed = parsePool(
      {
        name: 'p',
        clouds: {
          web: {
            instances: { min: 2, max: 2 },
            using: { provider: 'local' },
            scaling: { expandWhen: 'load > 0.5 for 500ms', contractWhen: 'load < 0.8', interval: '2s' },
          },
        },
      },
      'clouds.ts',
    ).clouds.web as CloudDefinition;
    const warn = of(checkCloud('web', fixed, facts()), 'warn');
    expect(warn).toEqual([
      'min equals max (2): the scaling rules can never add or retire an instance',
      "expandWhen holds 'for 500ms', shorter than the evaluation interval (2.0s): one evaluation decides",
      'load between 0.5 and 0.8 satisfies both expandWhen and contractWhen: the cloud would grow and shrink in turn',
    ]);
    expect(worst(checkCloud('web', fixed, facts()))).toBe('warn');
  });

  it('finds overlap only for one comparison each side of the same metric and aggregate', () => {
    const e = (t: string) => parseRule(t, ['load', 'cpu']).expr;
    expect(overlap(e('load > 0.8'), e('load < 0.3'))).toBeUndefined();
    expect(overlap(e('load >= 0.5'), e('load <= 0.5'))).toBe('load between 0.5 and 0.5');
    expect(overlap(e('load > 0.5'), e('load < 0.5'))).toBeUndefined();
    expect(overlap(e('max(cpu) > 50'), e('max(cpu) < 60'))).toBe('max(cpu) between 50 and 60');
    expect(overlap(e('max(cpu) > 50'), e('cpu < 60'))).toBeUndefined();
    expect(overlap(e('load > 0.5 and cpu > 1'), e('load < 0.8'))).toBeUndefined();
  });

  it('warns when a metric is sampled less often than a rule holds, or its timeout reaches its period', () => {
    const c = cloud({
      metrics: { queue: { file: 'q', every: '1m', timeout: '1m' } },
      scaling: { expandWhen: 'queue > 10 for 30s' },
    });
    expect(of(checkCloud('web', c, facts()), 'warn')).toEqual([
      'queue: timeout 1m0s is not shorter than every 1m0s: a slow sample delays the next',
      "queue is sampled every 1m0s, longer than 'queue > 10 for 30s' must hold: the rule is judged on one sample",
    ]);
  });

  it("checks a local cloud's resolvers on PATH in order, and only when it configures something", () => {
    const c = cloud({ runList: ['recipe[base]'], resolver: ['itamae', 'chef-solo'] });
    const none = checkCloud('web', c, facts()).find((x) => x.check === 'resolver');
    expect(none).toMatchObject({ level: 'error' });
    expect(none?.message).toMatch(/^none of itamae, chef-solo, cinc-solo is on PATH/);
    const path = (bin: string) => (bin === 'cinc-solo' ? '/opt/cinc/bin/cinc-solo' : undefined);
    const found = checkCloud('web', c, facts({ onPath: path })).find((x) => x.check === 'resolver');
    expect(found).toMatchObject({ level: 'ok', message: 'chef-solo found at /opt/cinc/bin/cinc-solo' });
  });

  it('checks an ssh key is readable without reading it', () => {
    const c = cloud({ using: { provider: 'ssh', hosts: ['10.0.0.1'], keyFile: '~/.ssh/pool' } });
    const seen: string[] = [];
    const readable = (p: string) => {
      seen.push(p);
      return true;
    };
    expect(checkCloud('web', c, facts({ readable })).find((x) => x.check === 'credentials')).toMatchObject({
      level: 'ok',
      message: 'ssh key ~/.ssh/pool is readable',
    });
    expect(seen).toEqual(['~/.ssh/pool']);
    expect(checkCloud('web', c, facts()).find((x) => x.check === 'credentials')?.level).toBe('error');
  });

  describe('ec2', () => {
    const ec2 = (region?: string) =>
      cloud({
        using: {
          provider: 'ec2',
          imageId: 'ami-0123456789abcdef0',
          instanceType: 't3.small',
          subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
          securityGroupIds: ['sg-0123456789abcdef0'],
          iamInstanceProfile: 'poolparty-node',
          ...(region ? { region } : {}),
        },
      });
    const find = (checks: Check[], name: string) => checks.find((c) => c.check === name);

    it('takes the region from the definition, the environment, then the profile', () => {
      expect(find(checkCloud('web', ec2('eu-west-1'), facts()), 'region')?.message).toBe(
        'eu-west-1 (from the definition)',
      );
      expect(find(checkCloud('web', ec2(), facts({ env: { AWS_REGION: 'us-east-2' } })), 'region')?.message).toBe(
        'us-east-2 (from AWS_REGION)',
      );
      const config = '[default]\nregion = us-west-1\n[profile ops]\nregion = ap-south-1\n';
      const readText = (p: string) => (p === '~/.aws/config' ? config : undefined);
      const env = { AWS_PROFILE: 'ops' };
      expect(find(checkCloud('web', ec2(), facts({ env, readText })), 'region')?.message).toBe(
        "ap-south-1 (from profile 'ops' in ~/.aws/config)",
      );
      expect(find(checkCloud('web', ec2(), facts()), 'region')?.level).toBe('error');
    });

    it('finds where AWS credentials would come from and never prints a value', () => {
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const both = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: secret };
      const fromEnv = checkCloud('web', ec2('eu-west-1'), facts({ env: both }));
      expect(find(fromEnv, 'credentials')?.message).toBe('AWS credentials from the environment (AWS_ACCESS_KEY_ID)');
      expect(JSON.stringify(fromEnv)).not.toContain(secret);
      expect(JSON.stringify(fromEnv)).not.toContain('AKIAIOSFODNN7EXAMPLE');

      const half = checkCloud('web', ec2('eu-west-1'), facts({ env: { AWS_ACCESS_KEY_ID: 'AKIA' } }));
      expect(find(half, 'credentials')).toMatchObject({
        level: 'error',
        message: 'AWS_SECRET_ACCESS_KEY is not set beside its pair',
      });

      const file = `[ops]\naws_access_key_id = AKIA\naws_secret_access_key = ${secret}\n`;
      const readText = (p: string) => (p === '/home/u/creds' ? file : undefined);
      const env = { AWS_PROFILE: 'ops', AWS_SHARED_CREDENTIALS_FILE: '/home/u/creds' };
      const profile = checkCloud('web', ec2('eu-west-1'), facts({ env, readText }));
      expect(find(profile, 'credentials')?.message).toBe("AWS credentials from profile 'ops' in /home/u/creds");
      expect(JSON.stringify(profile)).not.toContain(secret);

      const missing = facts({ env: { AWS_PROFILE: 'nope' } });
      expect(find(checkCloud('web', ec2('eu-west-1'), missing), 'credentials')?.level).toBe('error');
      expect(find(checkCloud('web', ec2('eu-west-1'), facts()), 'credentials')?.level).toBe('warn');
    });
  });

  it('reads only the named INI section', () => {
    const text = '[a]\nregion=x\n[profile b]\n region = y \nkey=1\n[c]\nregion=z\n';
    expect(iniSection(text, ['profile b'])).toEqual({ region: 'y', key: '1' });
    expect(iniSection(text, ['missing'])).toEqual({});
  });

  it('renders one line per check and a verdict', () => {
    const pool = parsePool(
      { name: 'p', clouds: { web: { instances: { min: 1, max: 2 }, using: { provider: 'local' } } } },
      'clouds.ts',
    );
    const checks = checkPool(pool, ['web'], facts());
    const text = checksText('clouds.ts', checks);
    expect(text.split('\n')[0]).toBe("ok     schema: pool 'p' is well-formed");
    expect(text).toContain('ok     web: instances: min 1 ≤ max 2');
    expect(text.endsWith('clouds.ts: valid (0 error(s), 0 warning(s))')).toBe(true);
  });
});
