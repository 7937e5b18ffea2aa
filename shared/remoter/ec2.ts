import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EC2Client,
  type Filter,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { poolKeyFile } from '../config/resolve.ts';
import { createLogger, type Logger } from '../log.ts';
import { agentUnitText } from '../package-files.ts';
import { ensurePoolKey } from '../pool-key.ts';
import { Ec2Calls } from './ec2-calls.ts';
import { CapacityError, Ec2RequestError, IdempotencyMismatchError, TerminateRefusedError } from './ec2-errors.ts';
import { definedOnly, EC2_REMOTER_DEFAULTS, type Ec2RemoterOptions, type Ec2RemoterTunables } from './ec2-options.ts';
import {
  CAPACITY_CODES,
  checkLaunchRequest,
  chunks,
  type Ec2InstanceRecord,
  errorCode,
  errorMessage,
  idsIn,
  LIVE_STATES,
  runInstancesInput,
  toRecord,
} from './ec2-request.ts';
import { buildUserData } from './ec2-user-data.ts';
import { checkLaunchTarget } from './launch-check.ts';
import { type LaunchCloud, launchCloud } from './launch-cloud.ts';
import type { LaunchRequest, ListFilter, ReconcileReport, RemoterBase } from './types.ts';
import { RemoterError, TAG_CLOUD, TAG_POOL } from './types.ts';

/**
 * The EC2 remoter base. AWS access comes from the SDK's standard configuration: the default
 * credential chain (env, AWS_PROFILE and the shared files, SSO, the instance profile on nodes),
 * the region from `using.region` or AWS_REGION/the profile, the endpoint from `using.endpoint` or
 * AWS_ENDPOINT_URL_EC2. The SDK retries in adaptive mode (client-side rate limiting); throttling
 * that outlasts it is retried here with backoff, then reported as ThrottledError.
 *
 * - launch: one RunInstances (MinCount = MaxCount = count) with the caller's client token, tags
 *   and the node bootstrap as user data; InsufficientInstanceCapacity moves to the next subnet,
 *   a full round of failures backs off and then throws CapacityError.
 * - list: DescribeInstances by the pool/cloud tags and the live states, every page.
 * - terminate: describes the ids first and refuses (all of them) if any is not this pool's and
 *   cloud's; then TerminateInstances in batches. Resolves once EC2 accepted the termination.
 * - An AuthError (UnauthorizedOperation, AuthFailure…) makes every later call fail at once:
 *   only a new remoter, built from a changed config or credentials, tries again.
 */

export { EC2_REMOTER_DEFAULTS, type Ec2RemoterOptions, type Ec2RemoterTunables } from './ec2-options.ts';

export function createEc2Remoter(opts: Ec2RemoterOptions): Ec2Remoter {
  return new Ec2Remoter(opts);
}

export class Ec2Remoter implements RemoterBase {
  readonly provider = 'ec2';
  readonly client: EC2Client;
  private readonly target: LaunchCloud<'ec2'>;
  private readonly tunables: Ec2RemoterTunables;
  private readonly log: Logger;
  private readonly calls: Ec2Calls;
  private unit: string | undefined;

  constructor(private readonly opts: Ec2RemoterOptions) {
    this.target = launchCloud(opts, 'ec2');
    const { using } = this.target;
    this.tunables = { ...EC2_REMOTER_DEFAULTS, ...definedOnly(opts) };
    if (this.tunables.pageSize < 5 || this.tunables.pageSize > 1000) {
      throw new RemoterError(`pageSize must be within 5..1000 (EC2 limit), got ${this.tunables.pageSize}`);
    }
    this.log = (opts.log ?? createLogger()).child({
      component: 'ec2-remoter',
      pool: opts.pool.name,
      cloud: opts.cloud,
    });
    this.client =
      opts.client ??
      new EC2Client({
        ...(using.region !== undefined ? { region: using.region } : {}),
        ...(using.endpoint !== undefined ? { endpoint: using.endpoint } : {}),
        retryMode: 'adaptive',
        maxAttempts: this.tunables.maxAttempts,
        ...(opts.retryStrategy !== undefined ? { retryStrategy: opts.retryStrategy } : {}),
      });
    this.calls = new Ec2Calls(this.client, this.tunables, this.log);
  }

  async launch(req: LaunchRequest): Promise<Ec2InstanceRecord[]> {
    this.calls.refuseAfterAuthFailure();
    checkLaunchTarget(req, this.opts.cloud);
    checkLaunchRequest(req.clientToken, req.tags);
    if (req.count === 0) return [];
    const userData = await this.userData();

    const subnets: (string | undefined)[] =
      this.target.using.subnetIds.length > 0 ? this.target.using.subnetIds : [undefined];
    const tried: string[] = [];
    let detail = '';
    for (let round = 0; round < this.tunables.capacityRounds; round++) {
      if (round > 0) await sleep(this.tunables.capacityBackoff * 2 ** (round - 1));
      for (const subnetId of subnets) {
        const input = runInstancesInput({
          pool: this.opts.pool.name,
          cloud: this.opts.cloud,
          using: this.target.using,
          count: req.count,
          clientToken: req.clientToken,
          requestTags: req.tags ?? {},
          userData,
          subnetId,
        });
        try {
          const out = await this.calls.send('RunInstances', () => this.client.send(new RunInstancesCommand(input)));
          const records = (out.Instances ?? []).map((i) => toRecord(i, this.target.monitorPort));
          this.log.info('launched', { count: records.length, ids: records.map((r) => r.id), subnetId, round });
          return records;
        } catch (err) {
          const code = errorCode(err);
          if (CAPACITY_CODES.has(code)) {
            const where = subnetId ?? 'default';
            if (!tried.includes(where)) tried.push(where);
            detail = errorMessage(err);
            this.log.warn('no capacity, trying the next subnet', { subnetId: where, code, round });
            continue;
          }
          if (code === 'IdempotentParameterMismatch') return this.resolveMismatch(req);
          throw this.calls.wrap(err, 'RunInstances');
        }
      }
    }
    throw new CapacityError(this.target.using.instanceType, tried, detail);
  }

  async list(filter: ListFilter): Promise<Ec2InstanceRecord[]> {
    this.calls.refuseAfterAuthFailure();
    if (filter.pool !== this.opts.pool.name) return [];
    const filters: Filter[] = [
      { Name: `tag:${TAG_POOL}`, Values: [filter.pool] },
      { Name: 'instance-state-name', Values: [...LIVE_STATES] },
    ];
    if (filter.cloud !== undefined) filters.push({ Name: `tag:${TAG_CLOUD}`, Values: [filter.cloud] });
    const instances = await this.calls.describe({ Filters: filters }, this.tunables.pageSize);
    return instances.map((i) => toRecord(i, this.target.monitorPort));
  }

  /**
   * EC2 needs no write-ahead record of its own: RunInstances is idempotent by ClientToken and every
   * instance carries the pool and cloud tags from its creation, so an instance a dead leader
   * launched is already listed. Reconciling is listing by tag and adopting everything listed.
   */
  async reconcile(filter: ListFilter): Promise<ReconcileReport> {
    const listed = await this.list(filter);
    const adopted = listed.map((i) => i.id);
    this.log.info('reconciled', { pool: filter.pool, cloud: filter.cloud, adopted });
    return { adopted, cleared: [], strays: [] };
  }

  async terminate(ids: string[]): Promise<void> {
    this.calls.refuseAfterAuthFailure();
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return;
    const malformed = wanted.filter((id) => !/^i-[0-9a-f]{8,17}$/.test(id));
    if (malformed.length > 0) throw new TerminateRefusedError([], malformed);

    // Describe first: nothing is terminated unless every id is this pool's and this cloud's.
    const found: Instance[] = [];
    const unknown: string[] = [];
    for (const batch of chunks(wanted, this.tunables.terminateBatch)) {
      try {
        found.push(...(await this.calls.describe({ InstanceIds: batch })));
      } catch (err) {
        if (!(err instanceof Ec2RequestError) || err.code !== 'InvalidInstanceID.NotFound') throw err;
        const missing = idsIn(err.message).filter((id) => batch.includes(id));
        unknown.push(...(missing.length > 0 ? missing : batch));
        const rest = batch.filter((id) => !missing.includes(id));
        if (missing.length > 0 && rest.length > 0) found.push(...(await this.calls.describe({ InstanceIds: rest })));
      }
    }
    const foreign = found
      .filter((i) => tagOf(i, TAG_POOL) !== this.opts.pool.name || tagOf(i, TAG_CLOUD) !== this.opts.cloud)
      .map((i) => i.InstanceId ?? '?');
    const seen = new Set(found.map((i) => i.InstanceId));
    for (const id of wanted) if (!seen.has(id) && !unknown.includes(id)) unknown.push(id);
    if (foreign.length > 0 || unknown.length > 0) throw new TerminateRefusedError(foreign, unknown);

    const targets = found
      .filter((i) => i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down')
      .map((i) => i.InstanceId as string);
    for (const batch of chunks(targets, this.tunables.terminateBatch)) {
      try {
        await this.calls.send('TerminateInstances', () =>
          this.client.send(new TerminateInstancesCommand({ InstanceIds: batch })),
        );
      } catch (err) {
        throw this.calls.wrap(err, 'TerminateInstances');
      }
      this.log.info('terminating', { ids: batch });
    }
  }

  /**
   * EC2 saw this token with other parameters. If that earlier launch was ours with the same count
   * (only the bootstrap peers or the subnet differed: both change between retries), it is the
   * launch the token stands for, and is returned; anything else is a caller error.
   */
  private async resolveMismatch(req: LaunchRequest): Promise<Ec2InstanceRecord[]> {
    const earlier = await this.calls.describe({ Filters: [{ Name: 'client-token', Values: [req.clientToken] }] });
    const ours = earlier.every(
      (i) => tagOf(i, TAG_POOL) === this.opts.pool.name && tagOf(i, TAG_CLOUD) === this.opts.cloud,
    );
    if (earlier.length === req.count && ours) {
      this.log.info('client token already launched; returning that launch', { clientToken: req.clientToken });
      return earlier.map((i) => toRecord(i, this.target.monitorPort));
    }
    throw new IdempotencyMismatchError(req.clientToken);
  }

  private async userData(): Promise<string> {
    const { bootstrap, bundleHash } = this.opts;
    const keyFile = this.opts.poolKeyFile ?? poolKeyFile(resolve(this.opts.stateDir));
    const { key } = await ensurePoolKey(keyFile);
    this.unit ??= this.opts.unit ?? (await agentUnitText());
    const hash = typeof bundleHash === 'function' ? await bundleHash() : bundleHash;
    return buildUserData({
      pool: this.opts.pool,
      cloud: this.opts.cloud,
      poolKey: key,
      bootstrap: typeof bootstrap === 'function' ? await bootstrap() : (bootstrap ?? []),
      ...(hash !== undefined ? { bundleHash: hash } : {}),
      unit: this.unit,
    });
  }
}

function tagOf(inst: Instance, key: string): string | undefined {
  return inst.Tags?.find((t) => t.Key === key)?.Value;
}
