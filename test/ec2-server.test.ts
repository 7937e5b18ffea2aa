import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fastRetry, stubAwsEnv } from './ec2-fixtures.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';

// The fake EC2 itself, at the wire: what EC2 answers where clients usually go wrong.

let server: FakeEc2Server;
let client: EC2Client;
let clock = 0;
const launched: string[] = [];

beforeAll(() => stubAwsEnv());
afterAll(() => vi.unstubAllEnvs());
beforeEach(async () => {
  clock = Date.parse('2030-01-01T00:00:00Z');
  launched.length = 0;
  server = await startEc2Server({
    now: () => clock,
    pendingMs: 1000,
    shuttingDownMs: 1000,
    terminatedVisibleMs: 60_000,
    onLaunch: (i) => launched.push(i.instanceId),
  });
  client = new EC2Client({ endpoint: server.endpoint, region: 'us-east-1', retryStrategy: fastRetry() });
});
afterEach(async () => {
  client.destroy();
  await server.close();
});

async function post(body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(server.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'AWS4-HMAC-SHA256 Credential=test/20300101/us-east-1/ec2/aws4_request, Signature=x',
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const run = (count: number, token?: string) =>
  client.send(
    new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: count, MaxCount: count, ClientToken: token }),
  );
const stateOf = async (id: string) =>
  (await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State
    ?.Name;

describe('fake EC2', () => {
  it('answers in EC2’s namespace and error envelope', async () => {
    const ok = await post('Action=DescribeInstances&Version=2016-11-15');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">');
    expect(ok.text).toMatch(/<requestId>[0-9a-f-]{36}<\/requestId><reservationSet\/>/);
    const bad = await post('Action=Frobnicate&Version=2016-11-15');
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
    server.model.throttle('DescribeInstances', 1);
    const throttled = await post('Action=DescribeInstances&Version=2016-11-15');
    expect([throttled.status, /<Code>RequestLimitExceeded</.test(throttled.text)]).toEqual([503, true]);
  });

  it('pending, then running; shutting-down, then terminated, still described for a while', async () => {
    const out = await run(1);
    const id = out.Instances?.[0]?.InstanceId as string;
    expect(launched).toEqual([id]);
    expect(out.Instances?.[0]?.State).toEqual({ Code: 0, Name: 'pending' });
    expect(out.Instances?.[0]?.PublicIpAddress).toBeUndefined();
    clock += 1000;
    expect(await stateOf(id)).toBe('running');
    await post(`Action=TerminateInstances&Version=2016-11-15&InstanceId.1=${id}`);
    expect(await stateOf(id)).toBe('shutting-down');
    clock += 1000;
    expect(await stateOf(id)).toBe('terminated');
    clock += 60_000;
    await expect(stateOf(id)).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });

  it('client tokens: same parameters, same reservation; other parameters, a mismatch', async () => {
    const a = await run(2, 'tok');
    const b = await run(2, 'tok');
    expect(b.ReservationId).toBe(a.ReservationId);
    expect(b.Instances?.map((i) => i.InstanceId)).toEqual(a.Instances?.map((i) => i.InstanceId));
    expect(launched).toHaveLength(2);
    await expect(run(3, 'tok')).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
  });

  it('MaxResults within 5..1000, never with InstanceIds, and NextToken pages', async () => {
    await run(12);
    await expect(client.send(new DescribeInstancesCommand({ MaxResults: 4 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(
      client.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: ['i-0123456789abcdef0'] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await client.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: token }));
      for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) seen.push(i.InstanceId as string);
      token = out.NextToken;
      if (!token) break;
    }
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    await expect(client.send(new DescribeInstancesCommand({ NextToken: 'forged' }))).rejects.toMatchObject({
      name: 'InvalidPaginationToken',
    });
  });

  it('filters by tag, state and client token', async () => {
    await client.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        MinCount: 2,
        MaxCount: 2,
        ClientToken: 'x',
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'poolparty:pool', Value: 'p' }] }],
      }),
    );
    await run(1);
    const count = async (Name: string, Values: string[]) =>
      (await client.send(new DescribeInstancesCommand({ Filters: [{ Name, Values }] }))).Reservations?.flatMap(
        (r) => r.Instances ?? [],
      ).length;
    expect(await count('tag:poolparty:pool', ['p'])).toBe(2);
    expect(await count('tag:poolparty:pool', ['q', 'p*'])).toBe(2);
    expect(await count('client-token', ['x'])).toBe(2);
    expect(await count('instance-state-name', ['running'])).toBe(0);
    expect(await count('instance-state-name', ['pending'])).toBe(3);
    await expect(count('no-such-filter', ['x'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});
