import { describe, expect, it } from 'vitest';
import { createAgentScaler, scalableFrom } from '../agent/scaler/for-agent.ts';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { SCALING_DEFAULTS } from '../shared/scaling/config.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';

/**
 * Which clouds a leader scales, by where it runs (issue 15: every cloud kept in bounds, but only
 * from where launching there is possible). An EC2 leader that scaled a local cloud read its own
 * empty state dir and started that cloud's agents as processes on the EC2 instance.
 */

const cloud = (provider: string) => ({
  using: { provider },
  instances: { min: 1, max: 3 },
  scaling: SCALING_DEFAULTS,
  agent: { deadAfter: 10_000, replaceAfter: 60_000 },
});

function scaledClouds(own: string): string[] {
  const definition = {
    name: 'p',
    clouds: { web: cloud('ec2'), loc: cloud('local'), loc2: cloud('local'), hosts: cloud('ssh'), vs: cloud('vsphere') },
  };
  const config = {
    pool: 'p',
    cloud: own,
    instanceId: 'i-1',
    tunables: { deadAfter: 10_000, replaceAfter: 60_000 },
    scaling: { min: 1, max: 3, config: SCALING_DEFAULTS, definition, stateDir: '/nonexistent' },
  } as unknown as AgentConfig;
  const scaler = createAgentScaler({
    config,
    ledger: new ActionLedger(),
    now: () => 0,
    leads: () => null,
    selfPeerId: () => 'self',
    retireSelf: () => undefined,
    members: () => [],
    publish: async () => undefined,
    emit: () => undefined,
    log: () => undefined,
  });
  return [...(scaler?.clouds ?? [])].sort();
}

describe('the clouds a leader scales', () => {
  it('an EC2 leader scales EC2 and vSphere clouds, never a local cloud or static SSH hosts', () => {
    expect(scaledClouds('web')).toEqual(['vs', 'web']);
  });

  it('a local leader scales every local cloud of its machine and the provider-API clouds', () => {
    expect(scaledClouds('loc')).toEqual(['loc', 'loc2', 'vs', 'web']);
  });

  it('the rule by provider pair', () => {
    expect(scalableFrom('local', 'ec2')).toBe(false);
    expect(scalableFrom('local', 'ssh')).toBe(false);
    expect(scalableFrom('local', 'local')).toBe(true);
    expect(scalableFrom('ssh', 'local')).toBe(false);
    expect(scalableFrom('ec2', 'ssh')).toBe(true);
  });
});
