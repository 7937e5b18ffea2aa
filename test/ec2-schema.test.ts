import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ec2UsingSchema, parseEc2Using } from '../shared/config/ec2-schema.ts';

const base = { provider: 'ec2', imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' } as const;
const error = (value: unknown) => {
  try {
    parseEc2Using(value);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('ec2 options', () => {
  it('normalises a full config', () => {
    expect(
      parseEc2Using({
        ...base,
        region: 'eu-west-1',
        keyName: 'ops',
        securityGroupIds: ['sg-0123456789abcdef0'],
        subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
        iamInstanceProfile: 'arn:aws:iam::123456789012:instance-profile/poolparty-node',
        tags: { team: 'search' },
        spot: true,
        blockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 30 }],
      }),
    ).toEqual({
      provider: 'ec2',
      region: 'eu-west-1',
      imageId: 'ami-0123456789abcdef0',
      instanceType: 't3.small',
      keyName: 'ops',
      securityGroupIds: ['sg-0123456789abcdef0'],
      subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
      iamInstanceProfile: { arn: 'arn:aws:iam::123456789012:instance-profile/poolparty-node' },
      tags: { team: 'search' },
      spot: {},
      blockDevices: [
        { deviceName: '/dev/xvda', sizeGiB: 30, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
      ],
      p2pPort: 8643,
    });
    expect(parseEc2Using({ ...base, iamInstanceProfile: 'poolparty-node' }).iamInstanceProfile).toEqual({
      name: 'poolparty-node',
    });
  });

  it('rejects AWS credentials in tags and userData', () => {
    expect(error({ ...base, tags: { owner: 'AKIAIOSFODNN7EXAMPLE' } })).toMatch(
      /^using\.tags\.owner: must not contain AWS credentials \(found an AWS access key id/,
    );
    expect(error({ ...base, tags: { ASIAIOSFODNN7EXAMPLE: 'x' } })).toMatch(/using\.tags\.ASIAIOSFODNN7EXAMPLE/);
    for (const text of [
      'export AWS_SECRET_ACCESS_KEY=abc',
      'aws configure set aws_secret_access_key abc',
      'AWS_SESSION_TOKEN=abc ./run',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
    ]) {
      expect(error({ ...base, userData: text })).toMatch(/^using\.userData: must not contain AWS credentials/);
    }
    // Words that merely look alike are fine.
    expect(error({ ...base, tags: { note: 'AKIA-is-a-prefix' }, userData: 'echo ok' })).toBe('accepted');
  });

  it('rejects bad ids, reserved tags and unknown keys with one line naming the field', () => {
    expect(error({ ...base, imageId: 'ubuntu' })).toMatch(/^using\.imageId: expected an AMI id/);
    expect(error({ ...base, subnetIds: ['subnet-1'] })).toMatch(/^using\.subnetIds\.0: expected a subnet id/);
    expect(error({ ...base, subnetIds: [] })).toMatch(/^using\.subnetIds/);
    expect(error({ ...base, securityGroupIds: ['sg-0123456789abcdef0', 'sg-0123456789abcdef0'] })).toMatch(
      /duplicate ids/,
    );
    expect(error({ ...base, tags: { 'poolparty:pool': 'x' } })).toMatch(/reserved/);
    expect(error({ ...base, tags: { 'aws:foo': 'x' } })).toMatch(/reserved/);
    expect(error({ ...base, agentUrl: 'http://example.com/agent.mjs' })).toMatch(/^using\.agentUrl: expected an https/);
    expect(error({ ...base, agentSha256: 'a'.repeat(64) })).toMatch(/agentSha256 needs agentUrl/);
    expect(error({ ...base, spot: { maxPrice: 'cheap' } })).toMatch(/^using\.spot/);
    expect(error({ ...base, region: 'Mars' })).toMatch(/^using\.region: expected a region/);
    expect(error({ ...base, userData: 'a\nPOOLPARTY_USER_INIT_EOF\nb' })).toMatch(/must not contain a line/);
    expect(error({ ...base, instanceCount: 3 })).toMatch(/instanceCount/);
  });

  it('plugs into a discriminated union on provider', () => {
    const using = z.discriminatedUnion('provider', [z.strictObject({ provider: z.literal('local') }), ec2UsingSchema]);
    expect(using.parse({ ...base }).provider).toBe('ec2');
    expect(using.parse({ provider: 'local' })).toEqual({ provider: 'local' });
  });
});
