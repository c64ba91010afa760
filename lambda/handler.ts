/**
 * The Lambda entry point. Thin: it reads the configuration and builds the clients once per
 * container, turns the event into a run request and hands it to `run`. Endpoints come only from
 * the SDK's standard environment variables, so the same code runs on AWS and on the local cloud.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ACMClient } from '@aws-sdk/client-acm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { openAcmeAccount } from './acme/account.js';
import { acmeAxios } from './acme/acme-lib.js';
import { certId, RenewalInfoClient } from './acme/ari.js';
import { caRequestTimeoutMs } from './acme/ca-guard.js';
import { AcmeOrders, pollBudgetMs } from './acme/orders.js';
import { loadConfig, type RenewerConfig } from './config.js';
import { parseEvent } from './core/event.js';
import { ownerFromEnvironment } from './core/prefix-owner.js';
import { redact } from './core/redact.js';
import { type RunDependencies, run } from './core/run.js';
import type { RunReport } from './core/work.js';
import { AcmDeployer } from './deploy/acm.js';
import { ListenerDeployer } from './deploy/listeners.js';
import { addressResolver, checkServed } from './deploy/served.js';
import { cnameResolver, DelegationCheck } from './dns/delegation.js';
import { Route53Dns01Solver } from './dns/route53-solver.js';
import { EventPublisher } from './events/renewal-events.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from './observability.js';
import { DynamoStateStore } from './state/dynamo-state-store.js';
import { MemoryStateStore } from './state/memory-state-store.js';
import { SecretsStore } from './store/secrets-store.js';

const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** AWS calls and ACME requests made by this container, for the run log and the benchmark. */
const counters = { acmeRequests: 0, throttled: 0 };
// The CA guard (lambda/acme/ca-guard.ts) bounds every CA request (10 s) and turns rate limits into
// an immediate CaRateLimitedError; acme-client's own timeout and Retry-After sleeps never apply.
acmeAxios.interceptors.request.use((request) => {
  counters.acmeRequests += 1;
  return request;
});

function regional<T>(make: (region: string) => T): (region: string) => T {
  const cache = new Map<string, T>();
  return (region) => {
    let client = cache.get(region);
    if (!client) {
      client = make(region);
      cache.set(region, client);
    }
    return client;
  };
}

/** What lives as long as the container: the configuration and the SDK clients (connections). */
interface Container {
  config: RenewerConfig;
  region: string;
  secrets: SecretsManagerClient;
  route53: Route53Client;
  dynamodb?: DynamoDBClient;
  acm: (region: string) => ACMClient;
  elbv2: (region: string) => ElasticLoadBalancingV2Client;
  events: EventBridgeClient;
  /** Assumes `dns.zoneRoles` roles (regional endpoint of the function's region). */
  sts: STSClient;
}

let container: Container | undefined;

/** Reads the configuration and builds the clients on first use (a bad configuration fails). */
function containerState(): Container {
  if (container) return container;
  const config: RenewerConfig = loadConfig();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  container = {
    config,
    region,
    secrets: new SecretsManagerClient({ region }),
    route53: new Route53Client({ region }),
    ...(process.env.RENEWER_STATE_TABLE ? { dynamodb: new DynamoDBClient({ region }) } : {}),
    acm: regional((r) => new ACMClient({ region: r })),
    elbv2: regional((r) => new ElasticLoadBalancingV2Client({ region: r })),
    sts: new STSClient({ region }),
    // A bus named by ARN is called in its own region.
    events: new EventBridgeClient({
      region: config.events.busName.startsWith('arn:')
        ? (config.events.busName.split(':')[3] ?? region)
        : region,
    }),
  };
  return container;
}

/** Without a state table (local experiments only) state lasts one container. */
let memoryState: MemoryStateStore | undefined;
/** This invocation's ARI client, for the `run stats` line. */
let lastAri: RenewalInfoClient | undefined;

/**
 * Builds this invocation's dependencies. Everything that caches what AWS said (zones, which
 * certificates are ours, which secrets are missing) is new per invocation: a warm container
 * must not act on what an earlier invocation saw.
 */
export function dependencies(): Omit<RunDependencies, 'remainingMs'> {
  const { config, ...clients } = containerState();
  const onThrottle = (operation: string) => {
    counters.throttled += 1;
    logger.debug('throttled, retrying', { operation });
  };
  const store = new SecretsStore({
    client: clients.secrets,
    prefix: config.secretPrefix,
    kmsKeyId: config.kmsKeyId,
  });
  const tableName = process.env.RENEWER_STATE_TABLE;
  let state: RunDependencies['state'];
  if (tableName && clients.dynamodb) {
    state = new DynamoStateStore({ client: clients.dynamodb, tableName });
  } else {
    logger.warn(
      'RENEWER_STATE_TABLE is not set: no run lease, and the journal and schedules last only this container (the CDK stack always sets it)',
    );
    memoryState ??= new MemoryStateStore();
    state = memoryState;
  }
  const configuredNames = new Set(config.certificates.map((c) => c.name));
  const acm = new AcmDeployer({
    clientFor: clients.acm,
    secretPrefix: config.secretPrefix,
    logger,
    onThrottle,
  });
  // ARI and directory reads: one client per invocation (directories are read once per run).
  const ari = new RenewalInfoClient();
  lastAri = ari;
  const dns = new Route53Dns01Solver({
    route53: clients.route53,
    resolvers: config.dns.propagationResolvers,
    zoneRoles: config.dns.zoneRoles,
    clientFor: (credentials) => new Route53Client({ region: clients.region, credentials }),
    sts: clients.sts,
    propagationTimeoutMs: config.dns.propagationTimeoutSeconds * 1000,
    logger,
    onThrottle,
  });
  const resolveAddresses = addressResolver(config.dns.propagationResolvers);
  // Public DNS as the CA sees it: the configured resolvers, else the system's.
  const delegations = config.certificates.some(
    (c) => Object.keys(c.challengeDelegations).length > 0,
  )
    ? new DelegationCheck(cnameResolver(config.dns.propagationResolvers))
    : undefined;
  return {
    config,
    store,
    state,
    dns,
    ...(delegations
      ? { checkDelegation: (domain: string, target: string) => delegations.verify(domain, target) }
      : {}),
    ...(config.events.enabled
      ? { events: new EventPublisher({ client: clients.events, logger }) }
      : {}),
    checkServed: (targets) =>
      checkServed(targets, {
        resolve: resolveAddresses,
        inVpc: process.env.RENEWER_IN_VPC === 'true',
      }),
    acm,
    listeners: new ListenerDeployer({
      clientFor: clients.elbv2,
      // Only a configured certificate's own old ARNs are stale: an orphan (a certificate removed
      // from the configuration) stays bound, so the names it serves keep working until retired.
      isManaged: async (r, arn) => {
        const owner = await acm.ownerOf(r, arn);
        return owner !== undefined && configuredNames.has(owner);
      },
      keyAlgorithmOf: (r, arn) => acm.keyAlgorithmOf(r, arn),
      logger,
      onThrottle,
    }),
    openOrders: async (ca, preloaded) =>
      AcmeOrders.forAccount(
        await openAcmeAccount({
          config: {
            ...config.acme,
            directoryUrl: ca.directoryUrl,
            email: ca.email,
            externalAccountBinding: ca.externalAccountBinding,
          },
          store,
          logger,
          preloaded,
        }),
        config.acme.preferredChain,
        { logger },
      ),
    caInfo: {
      directory: async (url) => ({
        renewalInfo: await ari.offersRenewalInfo(url),
        ...(await ari.profiles(url).then((profiles) => (profiles ? { profiles } : {}))),
      }),
      renewalInfo: (url, pem) => ari.fetch(url, pem),
      certId,
    },
    logger,
    metrics,
    owner: ownerFromEnvironment(),
    // Every wait of one issuance: Route 53 INSYNC and propagation, CA polling, listener binding.
    reserveMs: dns.maxWaitMs + ACME_WAIT_MS + BIND_WAIT_MS,
  };
}

/**
 * The longest the CA side of one issuance can take: the authorization poll and the order poll,
 * plus a timeout's worth for each of the few requests around them (order, finalize, download).
 */
const ACME_WAIT_MS = 2 * pollBudgetMs() + 6 * caRequestTimeoutMs();
/** Binding a certificate ELBv2 does not see yet is retried this long. */
const BIND_WAIT_MS = 60_000;

/** Scheduled event, `{}`, or `{"certificates":[...],"force":true,"dryRun":true}`. */
export const handler = async (event: unknown, context?: Context): Promise<RunReport> => {
  if (context) logger.addContext(context);
  const started = Date.now();
  const before = { ...counters };
  lastAri = undefined;
  try {
    const request = parseEvent(event);
    const deps = dependencies();
    const remainingMs = context?.getRemainingTimeInMillis
      ? () => context.getRemainingTimeInMillis()
      : undefined;
    return await run(request, {
      ...deps,
      remainingMs,
      ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
    });
  } catch (error) {
    const err = error as Error;
    logger.error('run failed', { error: { name: err.name, message: redact(err.message) } });
    throw error;
  } finally {
    logger.info('run stats', {
      durationMs: Date.now() - started,
      acmeRequests: counters.acmeRequests - before.acmeRequests,
      ariRequests: (lastAri as RenewalInfoClient | undefined)?.requests ?? 0,
      throttleRetries: counters.throttled - before.throttled,
    });
  }
};
