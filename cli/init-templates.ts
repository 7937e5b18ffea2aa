/**
 * The starter clouds.ts `poolparty init` writes, one per provider: the smallest definition that
 * `poolparty validate` accepts, with a comment on each field saying what it does and what to change.
 */

export const INIT_PROVIDERS = ['local', 'ssh', 'ec2'] as const;
export type InitProvider = (typeof INIT_PROVIDERS)[number];

/** A pool name from a directory name: lowercase letters, digits and '-', at most 32 characters. */
export function poolNameFrom(dir: string): string {
  const name = dir
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return name === '' ? 'my-pool' : name;
}

const USING: Record<InitProvider, string> = {
  local: `      // Every instance is an agent process on this machine, on its own loopback address
      // (127.0.0.2, 127.0.0.3, ...): try the pool here before it costs anything.
      using: local({ firstAddress: '127.0.0.2' }),`,
  ssh: `      // Machines you already have, reached over SSH; bootstrap provisions \`min\` of them and the
      // leader takes more from this list as the pool grows. Replace the addresses with yours.
      using: ssh({
        hosts: ['192.0.2.10', '192.0.2.11', '192.0.2.12'],
        user: 'root', // another user needs passwordless sudo
        keyFile: '~/.ssh/id_ed25519', // unencrypted private key; poolparty validate checks it is readable
      }),`,
  ec2: `      // EC2 instances launched by the CLI (bootstrap) and then by the pool's leader. Replace each
      // id with one of your account's; credentials and region come from the AWS environment
      // (AWS_PROFILE or AWS_ACCESS_KEY_ID, AWS_REGION), never from this file.
      using: ec2({
        imageId: 'ami-0123456789abcdef0', // a Debian or Ubuntu AMI
        instanceType: 't3.small',
        subnetIds: ['subnet-0123456789abcdef0'],
        securityGroupIds: ['sg-0123456789abcdef0'], // must let members reach each other on 8642-8643
        iamInstanceProfile: 'poolparty-node', // the nodes' only AWS access: ec2:RunInstances and friends
      }),`,
};

export function starterDefinition(provider: InitProvider, pool: string): string {
  return `// The pool definition: poolparty commands read ./clouds.ts unless given -c FILE or
// POOLPARTY_CONFIG. Check it with \`poolparty validate\`, see what bootstrap would do with
// \`poolparty plan\`, then \`poolparty bootstrap\`. Every field is documented in the README.
import { definePool, ${provider} } from 'poolparty';

export default definePool({
  // Lowercase letters, digits and '-'; names the pool's state dir (~/.poolparty/<name>) and tags.
  name: '${pool}',
  clouds: {
    // One group of identical instances; a pool may have several.
    app: {
      // bootstrap launches \`min\`; the leader never goes below min nor above max.
      instances: { min: 2, max: 4 },
${USING[provider]}
      scaling: {
        // Average load over the cloud's alive members; 'for' is how long the rule must hold.
        expandWhen: 'load > 0.8 for 1m',
        contractWhen: 'load < 0.2 for 5m',
      },
      // What each instance is configured with (packages, files, services) goes here: see
      // docs/configure.md. Without resources nothing is compiled or applied.
    },
  },
});
`;
}
