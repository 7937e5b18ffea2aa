import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeInstances, runInstancesXml, terminateInstancesXml } from './actions.ts';
import { Ec2Model, FakeEc2Error, type FakeInstance, type ModelOptions } from './model.ts';
import { list, obj, parseQuery, type QueryObject, QueryParseError, str } from './query.ts';
import { errorDocument, responseDocument } from './xml.ts';

/**
 * A wire-level EC2 for tests: Node http on 127.0.0.1, port 0, speaking the EC2 Query protocol
 * (form-encoded POST, Version 2016-11-15, XML in EC2's namespace, EC2's error envelope). The
 * real @aws-sdk/client-ec2 talks to it through `endpoint` / AWS_ENDPOINT_URL_EC2.
 *
 * Requests must be SigV4-signed (an Authorization header naming an access key id); the signature
 * itself is not checked — the key id only becomes the principal named in auth errors.
 */

export interface CallRecord {
  action: string;
  params: QueryObject;
  /** The error code answered, if the call failed. */
  error?: string;
}

export interface FakeEc2Server {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly model: Ec2Model;
  /** Every call received, in order (failed ones too). */
  readonly calls: CallRecord[];
  callsOf(action: string): CallRecord[];
  /** Puts an instance in directly (e.g. another pool's), running, with these tags. */
  addInstance(tags: Record<string, string>, subnetId?: string): FakeInstance;
  close(): Promise<void>;
}

export const API_VERSION = '2016-11-15';
const MAX_BODY = 1024 * 1024;

export async function startEc2Server(opts: ModelOptions = {}): Promise<FakeEc2Server> {
  const model = new Ec2Model(opts);
  const calls: CallRecord[] = [];
  const server = createServer((req, res) => {
    handle(model, calls, req, res).catch((err: unknown) => {
      send(res, 500, errorDocument('InternalError', `fake ec2: ${(err as Error).message}`, randomUUID()));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    model,
    calls,
    callsOf: (action) => calls.filter((c) => c.action === action),
    addInstance: (tags, subnetId) => addInstance(model, tags, subnetId),
    close: () => closeServer(server),
  };
}

async function handle(model: Ec2Model, calls: CallRecord[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const fail = (status: number, code: string, message: string) =>
    send(res, status, errorDocument(code, message, requestId));
  if (req.method !== 'POST') return fail(400, 'InvalidAction', 'EC2 Query requests are POSTed');
  const body = await readBody(req);
  if (body === undefined) return fail(413, 'RequestEntityTooLarge', 'request body too large');
  let params: QueryObject;
  try {
    params = parseQuery(body);
  } catch (err) {
    return fail(400, 'InvalidParameterValue', (err as QueryParseError).message);
  }
  const action = str(params.Action) ?? '';
  const record: CallRecord = { action, params };
  calls.push(record);
  try {
    if (str(params.Version) !== API_VERSION) {
      throw new FakeEc2Error('InvalidParameterValue', `unsupported API version ${String(str(params.Version))}`);
    }
    const principal = principalOf(req.headers.authorization);
    model.checkFaults(action, principal);
    const answer = dispatch(model, action, params, requestId);
    if (model.takeDrop(action)) {
      record.error = 'ResponseDropped';
      req.socket.destroy();
      return;
    }
    send(res, 200, answer);
  } catch (err) {
    if (err instanceof FakeEc2Error) {
      record.error = err.code;
      return fail(err.status, err.code, err.message);
    }
    if (err instanceof QueryParseError) {
      record.error = 'InvalidParameterValue';
      return fail(400, 'InvalidParameterValue', err.message);
    }
    throw err;
  }
}

function dispatch(model: Ec2Model, action: string, params: QueryObject, requestId: string): string {
  switch (action) {
    case 'RunInstances':
      return responseDocument(action, requestId, runInstancesXml(model, model.runInstances(params)));
    case 'DescribeInstances':
      return responseDocument(action, requestId, describeInstances(model, params));
    case 'TerminateInstances': {
      const ids = list(params.InstanceId).map((v) => str(v) as string);
      return responseDocument(action, requestId, terminateInstancesXml(model.terminateInstances(ids)));
    }
    case 'CreateTags': {
      const ids = list(params.ResourceId).map((v) => str(v) as string);
      const tags = list(params.Tag)
        .map(obj)
        .map((t): [string, string] => [str(t.Key) ?? '', str(t.Value) ?? '']);
      model.createTags(ids, tags);
      return responseDocument(action, requestId, [['return', true]]);
    }
    default:
      throw new FakeEc2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}

/** `AWS4-HMAC-SHA256 Credential=AKID/date/region/ec2/aws4_request, …` → an ARN naming the key id. */
function principalOf(authorization: string | undefined): string {
  const keyId = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
  if (!keyId) {
    throw new FakeEc2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  }
  return `arn:aws:iam::123456789012:user/${keyId}`;
}

function addInstance(model: Ec2Model, tags: Record<string, string>, subnetId?: string): FakeInstance {
  const { instances } = model.runInstances({
    ImageId: 'ami-0123456789abcdef0',
    MinCount: '1',
    MaxCount: '1',
    ...(subnetId ? { SubnetId: subnetId } : {}),
    TagSpecification: [{ ResourceType: 'instance', Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
  });
  const inst = instances[0] as FakeInstance;
  inst.launchedAt -= 24 * 3600_000; // already past pending
  return inst;
}

function send(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
