import { RemoterError } from './types.ts';

/**
 * The vSphere remoter's failures (matched by `.name`). A fault vSphere answered keeps its type
 * (`fault`: 'DuplicateName', 'NotAuthenticated'…) and reads as one line saying what to do.
 */

const ADVICE: Record<string, string> = {
  InvalidLogin: 'check VSPHERE_USER/VSPHERE_PASSWORD (or the URL user info)',
  NotAuthenticated: 'the session ended and logging in again did not help',
  NoPermission: 'the user lacks a privilege on this object (docs/vsphere.md lists the role)',
  DuplicateName: 'an object of that name already exists there',
  InsufficientResourcesFault: 'the cluster or resource pool has no room for another VM',
  TaskInProgress: 'another task is running on that VM; try again when it ends',
  InvalidPowerState: 'the VM is not in the power state the operation needs',
  ManagedObjectNotFound: 'the object is gone (deleted meanwhile?)',
};

export class VsphereFaultError extends RemoterError {
  override name = 'VsphereFaultError';
  constructor(
    /** The fault's type without a trailing 'Fault' where vSphere's element adds one (InvalidLoginFault → InvalidLogin). */
    readonly fault: string,
    /** The method (or task) that failed, e.g. 'CloneVM_Task'. */
    readonly method: string,
    detail: string,
  ) {
    const advice = ADVICE[fault];
    const said = detail.replace(/\s+/g, ' ').trim();
    super(`vSphere ${method} failed: ${fault}${said ? ` (${said})` : ''}${advice ? `: ${advice}` : ''}`);
  }
}

/**
 * The server could not be reached, answered something that is not SOAP, or a task did not end
 * within its bound (vSphere may still finish it: list again before acting).
 */
export class VsphereConnectionError extends RemoterError {
  override name = 'VsphereConnectionError';
}

/** terminate was asked for VMs that are not this pool's and cloud's (nothing was touched). */
export class VsphereTerminateRefusedError extends RemoterError {
  override name = 'VsphereTerminateRefusedError';
  constructor(
    readonly foreign: string[],
    readonly unknown: string[],
  ) {
    const parts = [
      foreign.length > 0 ? `not this pool's and cloud's: ${foreign.join(', ')}` : '',
      unknown.length > 0 ? `not found: ${unknown.join(', ')}` : '',
    ].filter(Boolean);
    super(`refusing to terminate (nothing was touched): ${parts.join('; ')}`);
  }
}

/**
 * What the cloud names is not there: no credentials (VSPHERE_USER/VSPHERE_PASSWORD or the URL's
 * user info), or an inventory path (datacenter, folder, template, cluster…) that does not exist.
 */
export class VsphereSetupError extends RemoterError {
  override name = 'VsphereSetupError';
}
