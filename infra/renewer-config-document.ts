/**
 * Builds the function's configuration document from the construct's props and validates it with
 * the function's own schema (lambda/config.ts), so a bad configuration fails `cdk synth` with the
 * message the function would give. Values that are unresolved tokens (a zone or listener created
 * in the same app) are validated as placeholders and resolved by CloudFormation at deploy time.
 */
import { type aws_events as events, Stack, Token } from 'aws-cdk-lib';
import {
  type KeyType,
  type ListenerMode,
  parseConfig,
  type RenewerConfig,
  type RenewerConfigInput,
} from '../lambda/config.js';
import type {
  CaRateLimits,
  CertificateRenewerProps,
  ExternalAccountBinding,
  RateBudget,
} from './certificate-renewer-props.js';
import { hostedZoneIdOrStandIn, listenerArnOrStandIn } from './lookup-stand-ins.js';

/** A validated document, possibly holding tokens, plus what the stack derives from it. */
export interface ConfigDocument {
  /** The document the function receives (defaults filled in; may hold tokens). */
  readonly config: RenewerConfig;
  /** How many values are unresolved tokens (such a document must be passed inline). */
  readonly tokenCount: number;
}

function pick<T>(a: T | undefined, b: T | undefined, what: string): T | undefined {
  if (a !== undefined && b !== undefined) throw new Error(`${what}: give one of the two, not both`);
  return a ?? b;
}

type EabInput = NonNullable<RenewerConfigInput['acme']>['externalAccountBinding'];
type RateLimitsInput = NonNullable<RenewerConfigInput['acme']>['rateLimits'];

function eabDocument(eab: ExternalAccountBinding | undefined): {
  externalAccountBinding?: EabInput;
} {
  if (eab === undefined) return {};
  const secret = eab.hmacKeySecret;
  // SecretId takes a name, a complete ARN or a partial ARN, and another account's secret needs
  // an ARN (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html):
  // keep a given ARN as it is. A secret imported by name has an ARN CDK builds with tokens
  // (partition) and no suffix: its name is the exact identifier.
  const id =
    secret.secretFullArn ??
    (Token.isUnresolved(secret.secretArn) ? secret.secretName : secret.secretArn);
  return { externalAccountBinding: { kid: eab.keyId, hmacKeySecretId: id } };
}

function budgetDocument(budget: RateBudget) {
  return { count: budget.count, windowHours: budget.window.toHours({ integral: false }) };
}

function rateLimitsDocument(limits: CaRateLimits): RateLimitsInput {
  const { newOrdersPerWindow, certificatesPerRegisteredDomain, duplicateCertificates } = limits;
  return {
    ...(newOrdersPerWindow ? { newOrdersPerWindow: budgetDocument(newOrdersPerWindow) } : {}),
    ...(certificatesPerRegisteredDomain
      ? { certificatesPerRegisteredDomain: budgetDocument(certificatesPerRegisteredDomain) }
      : {}),
    ...(duplicateCertificates
      ? { duplicateCertificates: budgetDocument(duplicateCertificates) }
      : {}),
  };
}

/**
 * `events.busName` for a bus: PutEvents takes a name (this account and region) or an ARN
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). A literal
 * ARN is kept (it may name another account or region); a bus imported by name keeps its literal
 * name (its ARN holds the partition token); a bus of this app is given by its ARN token.
 */
export function busIdentifier(bus: events.IEventBus): string {
  if (!Token.isUnresolved(bus.eventBusArn)) return bus.eventBusArn;
  const sameEnv =
    bus.env.account === Stack.of(bus).account && bus.env.region === Stack.of(bus).region;
  if (!Token.isUnresolved(bus.eventBusName) && sameEnv) return bus.eventBusName;
  return bus.eventBusArn;
}

/** The configuration document (input form) the props describe. */
export function documentFromProps(props: CertificateRenewerProps): RenewerConfigInput {
  return {
    acme: {
      directoryUrl: props.directory?.directoryUrl ?? 'letsencrypt-staging',
      ...(props.email === undefined ? {} : { email: props.email }),
      ...eabDocument(props.externalAccountBinding),
      ...(props.preferredChain === undefined ? {} : { preferredChain: props.preferredChain }),
      ...(props.profile === undefined ? {} : { profile: props.profile }),
      ...(props.ari === undefined ? {} : { ari: props.ari }),
      ...(props.fallbackCas === undefined
        ? {}
        : {
            fallback: props.fallbackCas.map((ca) => ({
              directoryUrl: ca.directory.directoryUrl,
              ...(ca.email === undefined ? {} : { email: ca.email }),
              ...eabDocument(ca.externalAccountBinding),
            })),
          }),
      ...(props.rateLimits === undefined
        ? {}
        : { rateLimits: rateLimitsDocument(props.rateLimits) }),
    },
    renewal:
      props.renewBefore === undefined
        ? {}
        : { renewBeforeDays: props.renewBefore.toDays({ integral: false }) },
    dns: {
      ...(props.propagationResolvers === undefined
        ? {}
        : { propagationResolvers: props.propagationResolvers }),
      ...(props.propagationTimeout === undefined
        ? {}
        : { propagationTimeoutSeconds: props.propagationTimeout.toSeconds({ integral: false }) }),
      ...(props.zoneRoles === undefined
        ? {}
        : {
            zoneRoles: Object.fromEntries(
              Object.entries(props.zoneRoles).map(([zone, role]) => [
                zone,
                { roleArn: role.roleArn, externalId: role.externalId },
              ]),
            ),
          }),
    },
    ...(props.events === undefined
      ? {}
      : {
          events: {
            ...(props.events.enabled === undefined ? {} : { enabled: props.events.enabled }),
            ...(props.events.bus === undefined ? {} : { busName: busIdentifier(props.events.bus) }),
          },
        }),
    ...(props.verify === undefined
      ? {}
      : {
          verify: {
            ...(props.verify.enabled === undefined ? {} : { enabled: props.verify.enabled }),
            ...(props.verify.interval === undefined
              ? {}
              : { intervalHours: props.verify.interval.toHours({ integral: false }) }),
          },
        }),
    ...(props.concurrency === undefined ? {} : { concurrency: props.concurrency }),
    ...(props.encryptionKey === undefined ? {} : { kmsKeyId: props.encryptionKey.keyArn }),
    ...(props.secretPrefix === undefined ? {} : { secretPrefix: props.secretPrefix }),
    certificates: props.certificates.map((cert, i) => {
      const zoneId = pick(
        cert.hostedZone && hostedZoneIdOrStandIn(cert.hostedZone.hostedZoneId),
        cert.hostedZoneId,
        `certificates[${i}] ("${cert.name}") hostedZone / hostedZoneId`,
      );
      return {
        name: cert.name,
        domains: cert.domains,
        ...(zoneId === undefined ? {} : { hostedZoneId: zoneId }),
        // A string for jsii (no literal unions there): the schema checks it just below.
        ...(cert.keyType === undefined ? {} : { keyType: cert.keyType as KeyType }),
        ...(cert.profile === undefined ? {} : { profile: cert.profile }),
        ...(cert.acmCertificateArn === undefined
          ? {}
          : { acmCertificateArn: cert.acmCertificateArn }),
        ...(cert.regions === undefined ? {} : { regions: cert.regions }),
        ...(cert.challengeDelegations === undefined
          ? {}
          : { challengeDelegations: cert.challengeDelegations }),
        listeners: (cert.listeners ?? []).map((l, j) => {
          const what = `certificates[${i}] ("${cert.name}") listeners[${j}] listener / listenerArn`;
          const arn = pick(
            l.listener &&
              listenerArnOrStandIn(
                l.listener.listenerArn,
                l.listener.stack.account,
                l.listener.stack.region,
              ),
            l.listenerArn,
            what,
          );
          if (arn === undefined) throw new Error(`${what}: give one of the two`);
          return { arn, mode: (l.mode ?? 'default') as ListenerMode };
        }),
      };
    }),
  };
}

type Json = string | number | boolean | null | undefined | Json[] | { [key: string]: Json };

/** Replaces unresolved tokens by placeholders that satisfy the schema, or back. */
function mapStrings(value: Json, path: string[], fn: (s: string, path: string[]) => string): Json {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, [...path, String(i)], fn));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapStrings(v, [...path, k], fn)]),
    );
  }
  return value;
}

function placeholderFor(path: string[], n: number): string {
  const field = path[path.length - 1];
  if (field === 'hostedZoneId') return `ZTOKENPLACEHOLDER${n}`;
  if (field === 'arn') {
    return `arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/token-placeholder/${n}/${n}`;
  }
  if (field === 'roleArn') return `arn:aws:iam::000000000000:role/token-placeholder-${n}`;
  if (path.includes('domains')) return `token-placeholder-${n}.invalid`;
  return `token-placeholder-${n}`;
}

/**
 * Validates `input` with the function's schema (`parseConfig`), skipping unresolved tokens.
 * @throws ConfigError with the schema's message
 */
export function validateDocument(input: RenewerConfigInput, source: string): ConfigDocument {
  const tokens = new Map<string, string>();
  const substituted = mapStrings(input as Json, [], (s, path) => {
    if (!Token.isUnresolved(s)) return s;
    const placeholder = placeholderFor(path, tokens.size);
    tokens.set(placeholder, s);
    return placeholder;
  });
  const parsed = parseConfig(substituted, source);
  if (tokens.size === 0) return { config: parsed, tokenCount: 0 };
  const restored = mapStrings(parsed as unknown as Json, [], (s) => tokens.get(s) ?? s);
  return { config: restored as unknown as RenewerConfig, tokenCount: tokens.size };
}
