/**
 * The Lambda entry point. Thin: it reads the configuration and builds the clients once per
 * container, turns the event into a run request and hands it to `run`. Endpoints come only from
 * the SDK's standard environment variables, so the same code runs on AWS and on the local cloud.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ACMClient } from '@aws-sdk/client-acm';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { openAccount } from './acme/account.js';
import { acmeAxios } from './acme/acme-lib.js';
import { AcmeOrders } from './acme/orders.js';
import { loadConfig, type RenewerConfig } from './config.js';
import { parseEvent } from './core/event.js';
import { redact } from './core/redact.js';
import { type RunDependencies, run } from './core/run.js';
import type { RunReport } from './core/work.js';
import { AcmDeployer } from './deploy/acm.js';
import { ListenerDeployer } from './deploy/listeners.js';
import { Route53Dns01Solver } from './dns/route53-solver.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from './observability.js';
import { SecretsStore } from './store/secrets-store.js';

const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** AWS calls and ACME requests made by this container, for the run log and the benchmark. */
const counters = { acmeRequests: 0, throttled: 0 };
acmeAxios.defaults.timeout = 30_000;
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

let built: Omit<RunDependencies, 'remainingMs'> | undefined;

/** Builds configuration and clients on first use (a bad configuration fails the invocation). */
function dependencies(): Omit<RunDependencies, 'remainingMs'> {
  if (built) return built;
  const config: RenewerConfig = loadConfig();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const onThrottle = (operation: string) => {
    counters.throttled += 1;
    logger.debug('throttled, retrying', { operation });
  };
  const store = new SecretsStore({
    client: new SecretsManagerClient({ region }),
    prefix: config.secretPrefix,
    kmsKeyId: config.kmsKeyId,
  });
  const acm = new AcmDeployer({
    clientFor: regional((r) => new ACMClient({ region: r })),
    secretPrefix: config.secretPrefix,
    logger,
    onThrottle,
  });
  built = {
    config,
    store,
    dns: new Route53Dns01Solver({
      route53: new Route53Client({ region }),
      resolvers: config.dns.propagationResolvers,
      propagationTimeoutMs: config.dns.propagationTimeoutSeconds * 1000,
      logger,
      onThrottle,
    }),
    acm,
    listeners: new ListenerDeployer({
      clientFor: regional((r) => new ElasticLoadBalancingV2Client({ region: r })),
      isManaged: (r, arn) => acm.isManaged(r, arn),
      logger,
      onThrottle,
    }),
    openOrders: async (preloaded) =>
      new AcmeOrders(
        await openAccount({ config: config.acme, store, logger, preloaded }),
        config.acme.preferredChain,
      ),
    logger,
    metrics,
  };
  return built;
}

/** Scheduled event, `{}`, or `{"certificates":[...],"force":true,"dryRun":true}`. */
export const handler = async (event: unknown, context?: Context): Promise<RunReport> => {
  if (context) logger.addContext(context);
  const started = Date.now();
  const before = { ...counters };
  try {
    const request = parseEvent(event);
    const deps = dependencies();
    const remainingMs = context?.getRemainingTimeInMillis
      ? () => context.getRemainingTimeInMillis()
      : undefined;
    return await run(request, { ...deps, remainingMs });
  } catch (error) {
    const err = error as Error;
    logger.error('run failed', { error: { name: err.name, message: redact(err.message) } });
    throw error;
  } finally {
    logger.info('run stats', {
      durationMs: Date.now() - started,
      acmeRequests: counters.acmeRequests - before.acmeRequests,
      throttleRetries: counters.throttled - before.throttled,
    });
  }
};
