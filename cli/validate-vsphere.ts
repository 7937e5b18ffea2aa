import { type VsphereUsingDefinition, vsphereUrlCredentials } from '../shared/config/vsphere-schema.ts';

/**
 * validate's look at a vsphere cloud's credentials, by name only (never a value): where the
 * remoter would take them from — VSPHERE_USER/VSPHERE_PASSWORD, else the URL's user info — or why
 * it could not log in. Nothing is sent to vCenter.
 */
export function vsphereCredentialsCheck(
  using: VsphereUsingDefinition,
  env: Readonly<Record<string, string | undefined>>,
): { check: 'credentials'; level: 'ok' | 'error'; message: string } {
  const ok = (message: string) => ({ check: 'credentials' as const, level: 'ok' as const, message });
  const error = (message: string) => ({ check: 'credentials' as const, level: 'error' as const, message });
  if (env.VSPHERE_USER && env.VSPHERE_PASSWORD !== undefined)
    return ok('vCenter credentials from the environment (VSPHERE_USER)');
  if (env.VSPHERE_USER) return error('VSPHERE_PASSWORD is not set beside VSPHERE_USER');
  if (vsphereUrlCredentials(using)) return ok("vCenter credentials from using.url's user info");
  return error('no vCenter credentials: set VSPHERE_USER and VSPHERE_PASSWORD (or user info in using.url)');
}
