import { gunzipSync, gzipSync } from 'node:zlib';
import { buildUserData, type UserDataInput } from './ec2-user-data.ts';

/**
 * What a cloned VM boots from: the node bootstrap script (the same one EC2 instances run, with the
 * instance id fixed per VM instead of read from a metadata service) as `guestinfo.userdata`, and
 * `guestinfo.metadata` naming the instance — the keys cloud-init's VMware datasource reads, each
 * with its `.encoding`. Pure: the same inputs give the same values.
 */

/** The bootstrap's inputs (ec2-user-data.ts), and the VM's name: its instance id. */
export type GuestinfoInput = Omit<UserDataInput, 'identity'> & { vmName: string };

/**
 * The private address: POOLPARTY_PRIVATE_IP where a test stands in for the network, else the
 * source address of the default route, retried while DHCP or cloud-init's network config comes up.
 */
function identityLines(vmName: string): string[] {
  return [
    "# Instance id: this VM's name, fixed when it was cloned. Private address: the default route's source.",
    `INSTANCE_ID=${vmName}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'PRIVATE_IP="${POOLPARTY_PRIVATE_IP:-}"',
    'for attempt in $(seq 1 30); do',
    '  [[ -n $PRIVATE_IP ]] && break',
    "  PRIVATE_IP=$(ip -4 -o route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p') || true",
    '  [[ -n $PRIVATE_IP ]] || sleep 2',
    'done',
    '[[ -n $PRIVATE_IP ]] || fail "no IPv4 address: the VM has no default route"',
  ];
}

export function guestinfo(input: GuestinfoInput): Record<string, string> {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(input.vmName)) throw new Error(`invalid VM name ${JSON.stringify(input.vmName)}`);
  const { vmName, ...rest } = input;
  const script = buildUserData({ ...rest, identity: identityLines(vmName) });
  const metadata = JSON.stringify({ 'instance-id': input.vmName, 'local-hostname': input.vmName });
  return {
    'guestinfo.userdata': gzipSync(script, { level: 9 }).toString('base64'),
    'guestinfo.userdata.encoding': 'gzip+base64',
    'guestinfo.metadata': Buffer.from(metadata).toString('base64'),
    'guestinfo.metadata.encoding': 'base64',
  };
}

/** A guestinfo value decoded by its `.encoding` (base64, gzip+base64), as cloud-init does. */
export function decodeGuestinfo(value: string, encoding: string | undefined): string {
  const bytes = encoding === undefined || encoding === '' ? Buffer.from(value) : Buffer.from(value, 'base64');
  if (encoding === 'gzip+base64' || encoding === 'gz+b64') {
    return gunzipSync(bytes).toString('utf8');
  }
  return bytes.toString('utf8');
}
