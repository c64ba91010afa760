/**
 * The HTTP front: tells the four services apart on one port, applies faults,
 * records calls and renders answers and errors in each service's protocol.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AcmStore, handleAcm } from './acm.js';
import { ELBV2_NAMESPACE, type Elbv2Store, handleElbv2 } from './elbv2.js';
import { type EventBridgeStore, handleEventBridge } from './eventbridge.js';
import { type Faults, throttlingError } from './faults.js';
import {
  ApiError,
  parseForm,
  randomUUID,
  type ServiceName,
  xmlDocument,
  xmlErrorDocument,
} from './protocol.js';
import type { TokenBucket } from './rate-limit.js';
import { handleRoute53, ROUTE53_NAMESPACE, route53Route } from './route53.js';
import type { Route53Store } from './route53-zones.js';
import { handleSecretsManager } from './secrets-manager.js';
import type { SecretsStore } from './secrets-store.js';
import {
  accessKeyFromAuthorization,
  handleSts,
  STS_NAMESPACE,
  STS_VERSION,
  type StsStore,
} from './sts.js';

/** One request as seen by the emulator, in arrival order. */
export interface CallRecord {
  service: ServiceName;
  operation: string;
  region: string;
  status: number;
  /** The error code answered (e.g. `Throttling`), when the call failed. */
  errorCode?: string;
}

/** Everything a request may touch. */
export interface EmulatorState {
  route53: Route53Store;
  secrets: SecretsStore;
  acm: AcmStore;
  elbv2: Elbv2Store;
  /** Roles and sessions; also tells which account signed a request (its access key). */
  sts: StsStore;
  events: EventBridgeStore;
  faults: Faults;
  /** The account's Route 53 request bucket, shared by every Route 53 operation. */
  route53Requests: TokenBucket;
  calls: CallRecord[];
}

const DEFAULT_REGION = 'us-east-1';

/** The region from the SigV4 credential scope: `Credential=AKID/20261122/us-east-1/acm/aws4_request`. */
export function regionFromAuthorization(header: string | undefined): string {
  const match = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(header ?? '');
  return match?.[1] ?? DEFAULT_REGION;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

type Protocol = 'rest-xml' | 'json' | 'query';

interface Routed {
  service: ServiceName;
  protocol: Protocol;
  operation: string;
  run: () => { status?: number; body: string };
}

function jsonInput(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the protocol's own error
  }
  throw new ApiError('SerializationException', 'The request body is not a JSON object');
}

/** Works out which service and operation a request is for. */
function route(
  state: EmulatorState,
  req: IncomingMessage,
  body: string,
  region: string,
): Routed | undefined {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const method = req.method ?? 'GET';
  if (url.pathname.startsWith('/2013-04-01/')) {
    const r53 = route53Route(method, url.pathname);
    return {
      service: 'route53',
      protocol: 'rest-xml',
      operation: r53?.operation ?? 'Unknown',
      run: () => {
        if (!r53)
          throw new ApiError('UnknownOperation', `No operation at ${method} ${url.pathname}`, 404);
        const caller = state.sts.identity(accessKeyFromAuthorization(req.headers.authorization));
        return { body: handleRoute53(state.route53, r53, url.searchParams, body, caller) };
      },
    };
  }
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix, operation = ''] = target.split('.');
    const json = (result: unknown) => ({ body: JSON.stringify(result ?? {}) });
    if (prefix === 'secretsmanager') {
      return {
        service: 'secretsmanager',
        protocol: 'json',
        operation,
        run: () => json(handleSecretsManager(state.secrets, operation, jsonInput(body), region)),
      };
    }
    if (prefix === 'CertificateManager') {
      return {
        service: 'acm',
        protocol: 'json',
        operation,
        run: () => json(handleAcm(state.acm, operation, jsonInput(body), region)),
      };
    }
    if (prefix === 'AWSEvents') {
      return {
        service: 'events',
        protocol: 'json',
        operation,
        run: () => json(handleEventBridge(state.events, operation, jsonInput(body), region)),
      };
    }
    return undefined;
  }
  const form = parseForm(body);
  const action = form.get('Action');
  if (action && form.get('Version') === STS_VERSION) {
    return {
      service: 'sts',
      protocol: 'query',
      operation: action,
      run: () => {
        const caller = state.sts.identity(accessKeyFromAuthorization(req.headers.authorization));
        const result = handleSts(state.sts, action, form, caller);
        return {
          body: xmlDocument(`${action}Response`, STS_NAMESPACE, {
            [`${action}Result`]: result,
            ResponseMetadata: { RequestId: randomUUID() },
          }),
        };
      },
    };
  }
  if (action && form.get('Version') === '2015-12-01') {
    return {
      service: 'elbv2',
      protocol: 'query',
      operation: action,
      run: () => {
        const result = handleElbv2(state.elbv2, action, form, region);
        return {
          body: xmlDocument(`${action}Response`, ELBV2_NAMESPACE, {
            [`${action}Result`]: result === undefined || result === null ? '' : result,
            ResponseMetadata: { RequestId: randomUUID() },
          }),
        };
      },
    };
  }
  return undefined;
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string) {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function sendError(
  res: ServerResponse,
  protocol: Protocol,
  error: ApiError,
  requestId: string,
  service?: ServiceName,
) {
  const base = { 'x-amzn-requestid': requestId };
  if (protocol === 'json') {
    send(
      res,
      error.status,
      { ...base, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code },
      JSON.stringify({ __type: error.code, message: error.message }),
    );
    return;
  }
  const namespace =
    service === 'sts' ? STS_NAMESPACE : protocol === 'query' ? ELBV2_NAMESPACE : ROUTE53_NAMESPACE;
  send(
    res,
    error.status,
    { ...base, 'content-type': 'text/xml' },
    xmlErrorDocument(namespace, error, requestId),
  );
}

/** The request listener of the emulator's HTTP server. */
export function createRequestListener(state: EmulatorState) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    // A failed request must never take the emulator down with an unhandled rejection.
    handle(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, `${String(error)}\n`);
      else res.destroy();
    });
  };
}

/** One request: route, fault, run, record, answer. */
async function handle(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  const body = await readBody(req);
  const region = regionFromAuthorization(req.headers.authorization);
  let routed: Routed | undefined;
  try {
    routed = route(state, req, body, region);
  } catch {
    routed = undefined;
  }
  if (!routed) {
    send(res, 400, { 'content-type': 'text/plain' }, 'The emulator does not know this request\n');
    return;
  }
  const record: CallRecord = {
    service: routed.service,
    operation: routed.operation,
    region,
    status: 200,
  };
  state.calls.push(record);
  try {
    const fault = state.faults.take(routed.service, routed.operation);
    if (fault) throw fault;
    if (routed.service === 'route53' && !state.route53Requests.take()) {
      throw throttlingError('route53');
    }
    const answer = routed.run();
    const contentType = routed.protocol === 'json' ? 'application/x-amz-json-1.1' : 'text/xml';
    record.status = answer.status ?? 200;
    send(
      res,
      record.status,
      { 'content-type': contentType, 'x-amzn-requestid': requestId },
      answer.body,
    );
  } catch (caught) {
    const error =
      caught instanceof ApiError
        ? caught
        : new ApiError('InternalFailure', `Emulator failure: ${(caught as Error).message}`, 500);
    record.status = error.status;
    record.errorCode = error.code;
    sendError(res, routed.protocol, error, requestId, routed.service);
  }
}
