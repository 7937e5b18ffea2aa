/**
 * A self-scaling pool on VMware vSphere: `poolparty bootstrap -c examples/vsphere/clouds.ts`
 * clones two VMs from the template into the pool's folder and powers them on; the elected leader
 * keeps the pool between 2 and 8 VMs, cloning one more when the average load stays above 0.8 for
 * 30 s and destroying one when it stays below 0.2 for 5 minutes.
 *
 * The laptop reads VSPHERE_USER and VSPHERE_PASSWORD (a vCenter user with the role in
 * docs/vsphere.md). The nodes never get them from PoolParty: whichever node leads needs them in
 * its environment, from an env file baked into the template (see `userData` below and
 * docs/vsphere.md, "Credentials on the nodes").
 */
import { definePool, vsphere } from 'poolparty';

export default definePool({
  name: 'render',
  clouds: {
    farm: {
      instances: { min: 2, max: 8 },
      using: vsphere({
        url: 'https://vcenter.example.com/sdk',
        datacenter: 'Datacenter',
        // Created under the datacenter's VM folder on the first launch when missing.
        folder: 'poolparty/render',
        // A template with cloud-init (VMware datasource), VMware Tools, Node.js >= 20.19 and
        // /opt/poolparty/poolparty-agent.mjs (or set agentUrl + agentSha256).
        template: 'templates/ubuntu-24.04-poolparty',
        cluster: 'Cluster-A',
        // Or a resource pool of the cluster instead: resourcePool: 'Cluster-A/Resources/render',
        datastore: 'vsanDatastore',
        // The port group (or standard network, e.g. 'VM Network') under the datacenter's network
        // folder that the clones' first network card connects to; default: the template's.
        network: 'pg-render',
        // vCenter's certificate, if it is not signed by a CA this machine trusts (Administration >
        // Certificates, or `openssl x509 -fingerprint -sha256`): pinned, not skipped.
        thumbprint: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
        // The leader's vCenter credentials, from a root-only file baked into the template.
        userData: 'cat /etc/poolparty/vsphere.env >> /etc/poolparty/agent.env',
      }),
      scaling: {
        expandWhen: 'load > 0.8 for 30s',
        contractWhen: 'load < 0.2 for 5m',
      },
    },
  },
});
