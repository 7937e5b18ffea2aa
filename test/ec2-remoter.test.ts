import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEc2Remoter } from '../shared/remoter/ec2.ts';
import { type Ec2InstanceRecord, TAG_ACTION, TAG_TERM } from '../shared/remoter/ec2-request.ts';
import { TAG_CLOUD, TAG_POOL, TAG_TOKEN } from '../shared/remoter/types.ts';
import { ec2Pool, fastRetry, type Harness, harness, SUBNET_A, SUBNET_B, stubAwsEnv } from './ec2-fixtures.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';

// The real @aws-sdk/client-ec2 against the wire-level fake EC2 on 127.0.0.1.

let server: FakeEc2Server;
let h: Harness;
let clock = Date.parse('2030-01-01T00:00:00Z');

beforeAll(() => stubAwsEnv());
afterAll(() => vi.unstubAllEnvs());

beforeEach(async () => {
  clock = Date.parse('2030-01-01T00:00:00Z');
  server = await startEc2Server({ now: () => clock, pendingMs: 5_000, shuttingDownMs: 5_000 });
  h = await harness();
});
afterEach(async () => {
  await h.cleanup();
  await server.close();
});

const ids = (records: { id: string }[]) => records.map((r) => r.id).sort();

describe('launch, list, terminate', () => {
  it('launches count instances with tags and user data, lists them through their states, terminates', async () => {
    const remoter = h.remoter(server.endpoint);
    const launched = await remoter.launch({
      cloud: 'app',
      count: 3,
      clientToken: 'pp-4-7-abc',
      tags: { [TAG_TERM]: '4', [TAG_ACTION]: '7', [TAG_POOL]: 'evil' },
    });
    expect(launched).toHaveLength(3);
    expect(launched.every((r) => r.state === 'pending')).toBe(true);

    const [call] = server.callsOf('RunInstances');
    const p = call?.params as Record<string, unknown>;
    expect([p.MinCount, p.MaxCount, p.ClientToken, p.SubnetId]).toEqual(['3', '3', 'pp-4-7-abc', SUBNET_A]);
    expect(p.SecurityGroupId).toEqual(['sg-0123456789abcdef0']);
    expect(p.IamInstanceProfile).toEqual({ Name: 'poolparty-node' });
    expect(p.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    const tags = launched[0]?.tags;
    expect(tags).toMatchObject({
      [TAG_POOL]: 'web', // the provider's own tag wins over the caller's
      [TAG_CLOUD]: 'app',
      [TAG_TOKEN]: 'pp-4-7-abc',
      [TAG_TERM]: '4',
      [TAG_ACTION]: '7',
      Name: 'web-app',
    });
    const userData = Buffer.from(String(p.UserData), 'base64').toString('utf8');
    expect(userData.startsWith('#!/bin/bash\n')).toBe(true);
    expect(server.model.instances.get(launched[0]?.id ?? '')?.userData).toBe(userData);

    // Another pool's instance and another cloud's never show up.
    server.addInstance({ [TAG_POOL]: 'other', [TAG_CLOUD]: 'app' });
    server.addInstance({ [TAG_POOL]: 'web', [TAG_CLOUD]: 'db' });
    expect(ids(await remoter.list({ pool: 'web', cloud: 'app' }))).toEqual(ids(launched));
    expect(await remoter.list({ pool: 'other' })).toEqual([]);
    expect(await remoter.list({ pool: 'web' })).toHaveLength(4);

    clock += 6_000;
    const running = await remoter.list({ pool: 'web', cloud: 'app' });
    for (const r of running) {
      expect(r.state).toBe('running');
      expect(r.privateIp).toMatch(/^10\./);
      expect(r.publicIp).toMatch(/^203\.0\.113\./);
      expect(r.monitor).toBe(`http://${r.privateIp}:8642`);
      expect(r.launchedAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
      expect(r.subnetId).toBe(SUBNET_A);
    }

    const [victim, ...rest] = ids(launched);
    await remoter.terminate([victim as string]);
    expect(ids(await remoter.list({ pool: 'web', cloud: 'app' }))).toEqual(rest);
    // EC2 still describes it: shutting-down, then terminated, for a while.
    const raw = async () =>
      (await remoter.client.send(new DescribeInstancesCommand({ InstanceIds: [victim as string] }))).Reservations?.[0]
        ?.Instances?.[0]?.State?.Name;
    expect(await raw()).toBe('shutting-down');
    clock += 6_000;
    expect(await raw()).toBe('terminated');
    // Terminating it again is a no-op, not an error.
    await remoter.terminate([victim as string]);
    expect(server.callsOf('TerminateInstances')).toHaveLength(1);
  });

  it('follows every page: 23 instances, pages of 5', async () => {
    const remoter = h.remoter(server.endpoint, { pageSize: 5 });
    const launched = await remoter.launch({ cloud: 'app', count: 23, clientToken: 'big' });
    const listed = await remoter.list({ pool: 'web', cloud: 'app' });
    expect(ids(listed)).toEqual(ids(launched));
    const pages = server.callsOf('DescribeInstances');
    expect(pages).toHaveLength(5);
    expect(pages.every((c) => c.params.MaxResults === '5')).toBe(true);
  });

  it('terminates in batches of 50', async () => {
    const remoter = h.remoter(server.endpoint);
    const launched = await remoter.launch({ cloud: 'app', count: 120, clientToken: 'many' });
    await remoter.terminate(ids(launched));
    const calls = server.callsOf('TerminateInstances');
    expect(calls.map((c) => (c.params.InstanceId as string[]).length)).toEqual([50, 50, 20]);
    expect(await remoter.list({ pool: 'web' })).toEqual([]);
  });

  it('takes the endpoint from AWS_ENDPOINT_URL_EC2', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', server.endpoint);
    try {
      const remoter = createEc2Remoter({
        pool: ec2Pool({}),
        cloud: 'app',
        stateDir: h.stateDir,
        log: h.log,
        retryStrategy: fastRetry(),
      });
      await remoter.launch({ cloud: 'app', count: 1, clientToken: 'env' });
      expect(server.callsOf('RunInstances')).toHaveLength(1);
      remoter.client.destroy();
    } finally {
      vi.stubEnv('AWS_ENDPOINT_URL_EC2', '');
    }
  });
});

describe('idempotency', () => {
  it('the same token twice returns the same instances', async () => {
    const remoter = h.remoter(server.endpoint);
    const first = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'once' });
    const again = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'once' });
    expect(ids(again)).toEqual(ids(first));
    expect(server.model.instances.size).toBe(2);
  });

  it('the same token with another count is an IdempotencyMismatchError, not a retry', async () => {
    const remoter = h.remoter(server.endpoint);
    await remoter.launch({ cloud: 'app', count: 2, clientToken: 'once' });
    await expect(remoter.launch({ cloud: 'app', count: 3, clientToken: 'once' })).rejects.toMatchObject({
      name: 'IdempotencyMismatchError',
      clientToken: 'once',
    });
    expect(server.model.instances.size).toBe(2);
  });

  it('a retry whose bootstrap peers changed returns the first launch (EC2 says mismatch)', async () => {
    let peers = ['/ip4/10.0.0.9/tcp/8643/p2p/12D3KooWA'];
    const remoter = h.remoter(server.endpoint, { bootstrap: () => peers });
    const first = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'retry' });
    peers = ['/ip4/10.0.0.10/tcp/8643/p2p/12D3KooWB'];
    const again = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'retry' });
    expect(ids(again)).toEqual(ids(first));
    expect(server.callsOf('RunInstances').map((c) => c.error)).toEqual([undefined, 'IdempotentParameterMismatch']);
    expect(server.model.instances.size).toBe(2);
  });

  it('reconcile adopts every instance of the pool listed by tag; a retried token still launches nothing', async () => {
    const remoter = h.remoter(server.endpoint);
    const first = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'leader-1' });
    const report = await remoter.reconcile({ pool: 'web', cloud: 'app' });
    expect({ ...report, adopted: [...report.adopted].sort() }).toEqual({
      adopted: ids(first),
      cleared: [],
      strays: [],
    });
    const again = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'leader-1' });
    expect(ids(again)).toEqual(ids(first));
    expect(server.model.instances.size).toBe(2);
  });

  it('responses lost after RunInstances ran: the SDK retries with the token, EC2 returns the same instance', async () => {
    const remoter = h.remoter(server.endpoint);
    server.model.dropResponses('RunInstances', 2);
    const launched = await remoter.launch({ cloud: 'app', count: 1, clientToken: 'lost-answer' });
    expect(launched).toHaveLength(1);
    expect(server.model.instances.size).toBe(1);
    expect(server.callsOf('RunInstances').map((c) => c.error ?? 'ok')).toEqual([
      'ResponseDropped',
      'ResponseDropped',
      'ok',
    ]);
    expect(new Set(server.callsOf('RunInstances').map((c) => c.params.ClientToken))).toEqual(new Set(['lost-answer']));
  });

  it("another pool's token is not taken over", async () => {
    server.model.runInstances({
      ImageId: 'ami-0123456789abcdef0',
      MinCount: '2',
      MaxCount: '2',
      ClientToken: 'shared',
    });
    const remoter = h.remoter(server.endpoint);
    await expect(remoter.launch({ cloud: 'app', count: 2, clientToken: 'shared' })).rejects.toMatchObject({
      name: 'IdempotencyMismatchError',
    });
  });
});

describe('throttling', () => {
  it('three RequestLimitExceeded in a row are absorbed by the SDK (adaptive mode)', async () => {
    const remoter = h.remoter(server.endpoint);
    server.model.throttle('RunInstances', 3);
    const launched = await remoter.launch({ cloud: 'app', count: 1, clientToken: 't' });
    expect(launched).toHaveLength(1);
    expect(server.callsOf('RunInstances').map((c) => c.error ?? 'ok')).toEqual([
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      'ok',
    ]);
  });

  it('throttling that outlasts the SDK is retried with backoff, then reported as ThrottledError', async () => {
    const remoter = h.remoter(server.endpoint, { retryStrategy: fastRetry(1), throttleRetries: 3 });
    server.model.throttle('DescribeInstances', 3);
    expect(await remoter.list({ pool: 'web' })).toEqual([]);
    server.model.throttle('DescribeInstances', 10);
    await expect(remoter.list({ pool: 'web' })).rejects.toMatchObject({ name: 'ThrottledError' });
    // Not sticky: once EC2 stops throttling, calls work again.
    server.model.clearFaults();
    expect(await remoter.list({ pool: 'web' })).toEqual([]);
    expect(h.lines.some((l) => JSON.parse(l).msg === 'throttled by EC2, backing off')).toBe(true);
  });
});

describe('capacity', () => {
  it('InsufficientInstanceCapacity in the first subnet falls through to the second', async () => {
    const remoter = h.remoter(server.endpoint);
    server.model.setNoCapacity([SUBNET_A]);
    const launched = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'cap' });
    clock += 6_000;
    const listed = (await remoter.list({ pool: 'web' })) as Ec2InstanceRecord[];
    expect(ids(listed)).toEqual(ids(launched));
    expect(listed.every((r) => r.subnetId === SUBNET_B)).toBe(true);
  });

  it('no capacity anywhere: backs off, tries again, then throws CapacityError naming the subnets', async () => {
    const remoter = h.remoter(server.endpoint, { capacityRounds: 2 });
    server.model.setNoCapacity([SUBNET_A, SUBNET_B]);
    const err = await remoter.launch({ cloud: 'app', count: 2, clientToken: 'cap' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CapacityError', subnetsTried: [SUBNET_A, SUBNET_B], instanceType: 't3.small' });
    expect((err as Error).message).toContain(`${SUBNET_A}, ${SUBNET_B}`);
    const subnets = server.callsOf('RunInstances').map((c) => c.params.SubnetId);
    // Two passes over both subnets (the SDK may also retry each 500 itself).
    expect(subnets.lastIndexOf(SUBNET_A)).toBeGreaterThan(subnets.indexOf(SUBNET_B));
    expect(server.model.instances.size).toBe(0);
  });
});

describe('auth', () => {
  it('UnauthorizedOperation is an AuthError naming action and principal; later calls are refused', async () => {
    const remoter = h.remoter(server.endpoint);
    server.model.setUnauthorized(['RunInstances']);
    const err = await remoter.launch({ cloud: 'app', count: 1, clientToken: 'a' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'AuthError',
      code: 'UnauthorizedOperation',
      action: 'RunInstances',
      principal: 'arn:aws:iam::123456789012:user/test',
    });
    expect((err as Error).message).not.toContain('Encoded authorization failure message');
    server.model.clearFaults();
    const before = server.calls.length;
    await expect(remoter.list({ pool: 'web' })).rejects.toMatchObject({ name: 'AuthError' });
    await expect(remoter.terminate(['i-0123456789abcdef0'])).rejects.toMatchObject({ name: 'AuthError' });
    expect(server.calls.length).toBe(before); // refused without calling EC2
    // A new remoter (a config or credential change) tries again.
    expect(await h.remoter(server.endpoint).list({ pool: 'web' })).toEqual([]);
  });

  it('an unsigned request gets AuthFailure', async () => {
    const res = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeInstances&Version=2016-11-15',
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/<Response><Errors><Error><Code>AuthFailure<\/Code>.*<RequestID>/);
  });
});

describe('terminate safety', () => {
  it("refuses another pool's or cloud's instances and unknown ids, terminating nothing", async () => {
    const remoter = h.remoter(server.endpoint);
    const [mine] = await remoter.launch({ cloud: 'app', count: 1, clientToken: 'm' });
    const theirs = server.addInstance({ [TAG_POOL]: 'other', [TAG_CLOUD]: 'app' });
    const otherCloud = server.addInstance({ [TAG_POOL]: 'web', [TAG_CLOUD]: 'db' });
    const untagged = server.addInstance({});

    const err = await remoter
      .terminate([mine?.id as string, theirs.instanceId, otherCloud.instanceId, untagged.instanceId])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'TerminateRefusedError',
      foreign: [theirs.instanceId, otherCloud.instanceId, untagged.instanceId],
    });
    await expect(remoter.terminate(['i-0000000000000dead'])).rejects.toMatchObject({
      name: 'TerminateRefusedError',
      unknown: ['i-0000000000000dead'],
    });
    await expect(remoter.terminate(['not-an-id'])).rejects.toMatchObject({ name: 'TerminateRefusedError' });
    expect(server.callsOf('TerminateInstances')).toHaveLength(0);
    expect(await remoter.list({ pool: 'web', cloud: 'app' })).toHaveLength(1);
  });
});

describe('launch request checks', () => {
  it('rejects credentials in request tags and bad tokens before calling EC2', async () => {
    const remoter = h.remoter(server.endpoint);
    await expect(
      remoter.launch({ cloud: 'app', count: 1, clientToken: 't', tags: { note: 'AKIAIOSFODNN7EXAMPLE' } }),
    ).rejects.toThrow(/must not contain AWS credentials/);
    await expect(remoter.launch({ cloud: 'app', count: 1, clientToken: 'x'.repeat(65) })).rejects.toThrow(/64/);
    await expect(remoter.launch({ cloud: 'db', count: 1, clientToken: 't' })).rejects.toThrow(/cloud 'app'/);
    expect(server.calls).toHaveLength(0);
  });
});
