/**
 * A self-scaling pool on EC2: `poolparty bootstrap -c examples/ec2/clouds.ts` launches two nodes
 * into the first subnet (the second one when the first has no capacity), and the elected leader
 * keeps the pool between 2 and 10 instances, adding one when the average load stays above 0.8
 * for 30 s.
 *
 * The laptop uses the standard AWS configuration (AWS_PROFILE / env / SSO, AWS_REGION); the nodes
 * use only the instance profile below. See docs/ec2.md for both IAM policies. No credentials go
 * into user data, tags or the agent config: the config loader refuses them.
 */
import { definePool, ec2 } from 'poolparty';

export default definePool({
  name: 'search',
  clouds: {
    web: {
      instances: { min: 2, max: 10 },
      using: ec2({
        region: 'eu-west-1',
        // An image with Node.js >= 20.19 and /opt/poolparty/poolparty-agent.mjs baked in; without the
        // agent, set agentUrl (+ agentSha256) and the node downloads it at boot.
        imageId: 'ami-0a1b2c3d4e5f67890',
        instanceType: 't3.small',
        // Two availability zones: InsufficientInstanceCapacity in the first moves to the second.
        subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        // Must allow TCP 8643 (libp2p) and 8642 (monitor) from the security group itself.
        securityGroupIds: ['sg-0123456789abcdef0'],
        // The nodes' only AWS access: the leader launches and terminates with it (docs/ec2.md).
        iamInstanceProfile: 'poolparty-search-node',
        keyName: 'ops',
        tags: { team: 'search', env: 'staging' },
        blockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 20 }],
        // agentUrl: 's3://my-artifacts/poolparty/poolparty-agent.mjs',
        // agentSha256: '…',
        // Or let `poolparty bootstrap` install the agent over SSH (docs/ec2.md, "Bootstrap over SSH");
        // the security group must then let this machine in on TCP 22:
        // ssh: { keyFile: '~/.ssh/ops.pem', user: 'ec2-user' },
        // spot: { maxPrice: '0.02' },
      }),
      scaling: {
        expandWhen: 'load > 0.8 for 30s',
        contractWhen: 'load < 0.2 for 5m',
      },
    },
  },
});
