import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ValidateResult } from '../cli/commands/validate.ts';
import type { Plan } from '../cli/plan-steps.ts';
import { useEc2CliPool } from './fixtures/ec2-cli-pool.ts';
import { runCli } from './fixtures/run-cli.ts';

/**
 * `poolparty plan` and `validate` on an ec2 cloud, through the real AWS SDK against the wire-level
 * EC2 server: plan lists the pool's instances (not other pools'), calls nothing that changes the
 * cloud, and agrees with what bootstrap --no-wait and terminate then do. The cloud configures
 * nothing, so no node's (fake, private) monitor address is ever asked: no traffic leaves 127.0.0.1.
 */

const CLI = resolve('bin/poolparty.mjs');
const MIN = 4;
const SECRET = 'test-secret-never-printed';

const ec2 = useEc2CliPool({
  name: 'ec2plan',
  min: MIN,
  max: 8,
  subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
  secretAccessKey: SECRET,
});
const { cli } = ec2;
const plan = async (...args: string[]): Promise<Plan> => {
  const res = await cli('plan', '-c', ec2.config, ...args, '--json');
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Plan;
};
/** Calls that change the cloud; planning must make none. */
const changes = () => ec2.server.callsOf('RunInstances').length + ec2.server.callsOf('TerminateInstances').length;

describe('poolparty plan and validate on an ec2 cloud (real SDK, wire-level EC2)', () => {
  it('validate finds the region and credentials by name, never printing the secret', async () => {
    const res = await cli('validate', '-c', ec2.config, '--json');
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as ValidateResult;
    expect(result.valid).toBe(true);
    const find = (check: string) => result.checks.find((c) => c.check === check)?.message;
    expect(find('region')).toBe('us-east-1 (from AWS_REGION)');
    expect(find('credentials')).toBe('AWS credentials from the environment (AWS_ACCESS_KEY_ID)');
    const human = await cli('validate', '-c', ec2.config);
    expect(res.stdout + human.stdout + human.stderr).not.toContain(SECRET);

    const { AWS_REGION: _region, AWS_ACCESS_KEY_ID: _id, ...without } = ec2.env;
    const bad = await runCli([CLI, 'validate', '-c', ec2.config], without);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('error  app: region: no region: set using.region, AWS_REGION');
    expect(bad.stdout).toContain('error  app: credentials: AWS_ACCESS_KEY_ID is not set beside its pair');
  });

  it('plans bootstrap, then terminate, each matching what the command does', async () => {
    const foreign = ec2.server.addInstance({ 'poolparty:pool': 'other', 'poolparty:cloud': 'app' }).instanceId;
    const calls = changes();
    const empty = await plan();
    expect(empty.clouds.map((c) => [c.cloud, c.provider, c.launch, c.instances.length])).toEqual([
      ['app', 'ec2', MIN, MIN],
    ]);
    expect(changes()).toBe(calls);

    const boot = await cli('bootstrap', '-c', ec2.config, '--no-wait', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const launched = (JSON.parse(boot.stdout) as { launched: { id: string }[] }).launched.map((i) => i.id).sort();
    expect(launched).toHaveLength(MIN);

    const booted = changes();
    const again = await plan('bootstrap');
    expect(again.clouds[0]?.launch).toBe(0);
    expect(again.clouds[0]?.instances.map((i) => i.id).sort()).toEqual(launched);
    expect(again.clouds[0]?.notes[0]).toBe(`pool exists: ${MIN} running instance(s) count towards min ${MIN}`);

    const ending = await plan('terminate');
    expect([...(ending.clouds[0]?.end ?? [])].sort()).toEqual(launched);
    expect(ending.clouds[0]?.end).not.toContain(foreign);
    const human = await cli('plan', '-c', ec2.config, 'terminate');
    expect(human.stdout.trimEnd().endsWith(`plan: terminate would end ${MIN} instance(s)`)).toBe(true);

    // No monitor is asked: the cloud has nothing to configure.
    const configure = await plan('configure');
    expect(configure.clouds[0]?.bundle).toBeNull();
    expect(changes()).toBe(booted);

    const end = await cli('terminate', '-c', ec2.config, '--yes', '--json');
    expect(end.code, end.stderr).toBe(0);
    expect((JSON.parse(end.stdout) as { terminated: string[] }).terminated.sort()).toEqual(launched);
    expect(ec2.server.model.instances.get(foreign)?.terminateRequestedAt).toBeUndefined();
  });
});
