/** Props of {@link CertificateRenewer}, in the style of aws-cdk-lib. */
import type {
  Duration,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_events as events,
  aws_kms as kms,
  aws_logs as logs,
  aws_route53 as route53,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
} from 'aws-cdk-lib';
import { DIRECTORY_ALIASES, type KeyType, type ListenerMode } from '../lambda/config.js';

export type { KeyType, ListenerMode };

/** An ACME directory (certificate authority) to order certificates from. */
export class AcmeDirectory {
  /** Let's Encrypt production: trusted certificates, strict rate limits. */
  public static readonly LETS_ENCRYPT = new AcmeDirectory('letsencrypt');
  /** Let's Encrypt staging: untrusted certificates, generous rate limits. For first deploys. */
  public static readonly LETS_ENCRYPT_STAGING = new AcmeDirectory('letsencrypt-staging');

  /** Any RFC 8555 directory by its https URL (or one of the aliases of the configuration). */
  public static of(directoryUrl: string): AcmeDirectory {
    return new AcmeDirectory(directoryUrl);
  }

  /** The value of `acme.directoryUrl` in the function's configuration. */
  public readonly directoryUrl: string;

  private constructor(directoryUrl: string) {
    this.directoryUrl = directoryUrl;
  }

  /** True for the Let's Encrypt staging directory (certificates browsers do not trust). */
  public get isStaging(): boolean {
    return (
      this.directoryUrl === 'letsencrypt-staging' ||
      this.directoryUrl === DIRECTORY_ALIASES['letsencrypt-staging']
    );
  }
}

/** A load balancer listener that serves a certificate. Give `listener` or `listenerArn`. */
export interface CertificateListener {
  /**
   * The listener.
   * @default - `listenerArn` is used
   */
  readonly listener?: elbv2.IApplicationListener | elbv2.INetworkListener;
  /**
   * The listener's ARN (its region may differ from the stack's).
   * @default - `listener` is used
   */
  readonly listenerArn?: string;
  /**
   * `default`: the listener's default certificate; `sni`: an additional (SNI) certificate
   * (`ListenerMode`; a plain string for jsii, checked at synth).
   * @default 'default'
   */
  readonly mode?: ListenerMode | string;
}

/** One certificate the renewer keeps issued, stored and deployed. */
export interface RenewedCertificate {
  /** Unique name: the secret is `<secretPrefix>/<name>`, and manual invokes select by it. */
  readonly name: string;
  /** Domain names, the first one being the common name; `*.example.com` for a wildcard. */
  readonly domains: string[];
  /**
   * The public hosted zone holding the `_acme-challenge` records of every domain.
   * @default - `hostedZoneId`, or else the zone is found by the longest matching public zone
   * name (the function may then change `_acme-challenge` TXT records in any zone)
   */
  readonly hostedZone?: route53.IHostedZone;
  /**
   * The hosted zone by id, instead of `hostedZone`.
   * @default - see `hostedZone`
   */
  readonly hostedZoneId?: string;
  /**
   * Key algorithm and size of the certificate's private key: `ec-p256`, `ec-p384`, `rsa-2048`,
   * `rsa-3072` or `rsa-4096` (`KeyType`; a plain string for jsii, checked at synth).
   * @default 'ec-p256'
   */
  readonly keyType?: KeyType | string;
  /**
   * Listeners that serve this certificate.
   * @default - none: the certificate is only stored in Secrets Manager
   */
  readonly listeners?: CertificateListener[];
  /**
   * ACME profile for this certificate (Let's Encrypt: `classic`, `tlsserver`, `shortlived`),
   * instead of the renewer's `profile`. The function checks it against the directory's
   * `meta.profiles`; changing it reissues the certificate.
   * @default - the renewer's `profile`
   */
  readonly profile?: string;
  /**
   * An existing imported ACM certificate to adopt (from certbot, lego or a hand-made import):
   * re-imported in place, so every listener, CloudFront distribution or API Gateway domain that
   * uses it keeps working. `keyType` must match its key algorithm. Its region is granted ACM.
   * @default - a new ACM certificate is imported per region
   */
  readonly acmCertificateArn?: string;
  /**
   * ACM regions to import into besides the listeners' regions and the stack's, e.g.
   * `['us-east-1']` for CloudFront (which reads certificates from us-east-1 only). Each region
   * is granted the ACM import statements; the ARNs are in the secret's `acmCertificateArn`.
   * @default - the stack's region and the listeners' regions
   */
  readonly regions?: string[];
  /**
   * Challenge delegations, `{ "<domain>": "<record name>" }`: the domain's
   * `_acme-challenge.<domain>` is a public CNAME (kept by whoever owns that DNS) to the record
   * name, which lives in one of our hosted zones (found by zone discovery). The function writes
   * the TXT at the record name only; the IAM policy names exactly the record names, never the
   * delegated `_acme-challenge.<domain>`. A key is one of `domains` (`*.` is ignored).
   * @default - none: every challenge is written at `_acme-challenge.<domain>`
   */
  readonly challengeDelegations?: Record<string, string>;
}

/** A hosted zone in another AWS account, reached by assuming a role there. */
export interface DnsZoneRole {
  /** The role in the DNS account (see `DnsZoneAccessRole` for one made with CDK). */
  readonly roleArn: string;
  /** The external ID the role's trust policy requires (`sts:ExternalId`). */
  readonly externalId: string;
}

/** Where the renewer publishes its events (source `acme-renewer`). */
export interface RenewerEvents {
  /**
   * Publish `Certificate Issued` / `Certificate Failed` events.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The bus (the function may PutEvents to this bus only).
   * @default - the account's default event bus in the stack's region
   */
  readonly bus?: events.IEventBus;
}

/** TLS checks that the listeners serve the stored certificate. */
export interface RenewerVerification {
  /**
   * Connect to each listener's load balancer over TLS and compare the served serial.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How often unchanged listeners are checked (after a change they always are).
   * @default Duration.hours(24)
   */
  readonly interval?: Duration;
}

/** External Account Binding, for CAs that require it (ZeroSSL, Google Trust Services, ...). */
export interface ExternalAccountBinding {
  /** The key id the CA gave you. */
  readonly keyId: string;
  /** The secret holding the CA's HMAC key (base64url), as a plain string. */
  readonly hmacKeySecret: secretsmanager.ISecret;
}

/** A further CA, tried in order for a certificate its primary CA refuses, fails or rate-limits. */
export interface FallbackCa {
  /** The CA's ACME directory. */
  readonly directory: AcmeDirectory;
  /**
   * Contact e-mail of the ACME account at this CA.
   * @default - no contact
   */
  readonly email?: string;
  /**
   * External Account Binding for the account at this CA (the function may read the secret).
   * @default - none
   */
  readonly externalAccountBinding?: ExternalAccountBinding;
}

/** A CA rate limit: at most `count` in any `window`. */
export interface RateBudget {
  /** How many (a whole number, at least 1). */
  readonly count: number;
  /** The sliding window the count applies to (more than 0, at most a year). */
  readonly window: Duration;
}

/**
 * The CA's rate limits the function keeps each run under. Renewals that send `replaces`
 * (ARI) do not count against them.
 */
export interface CaRateLimits {
  /**
   * New orders per account.
   * @default - Let's Encrypt's: 300 per 3 hours
   */
  readonly newOrdersPerWindow?: RateBudget;
  /**
   * Certificates per registered domain (Public Suffix List).
   * @default - Let's Encrypt's: 50 per 7 days
   */
  readonly certificatesPerRegisteredDomain?: RateBudget;
  /**
   * Certificates for the exact same set of names.
   * @default - Let's Encrypt's: 5 per 7 days
   */
  readonly duplicateCertificates?: RateBudget;
}

/** Props of {@link CertificateRenewer}. */
export interface CertificateRenewerProps {
  /** The certificates to keep issued (at least one; 200 and more are fine). */
  readonly certificates: RenewedCertificate[];
  /**
   * The ACME directory to order from.
   * @default AcmeDirectory.LETS_ENCRYPT_STAGING - a first deploy must not burn production rate limits
   */
  readonly directory?: AcmeDirectory;
  /**
   * Contact e-mail of the ACME account (the CA's expiry and policy notices).
   * @default - no contact
   */
  readonly email?: string;
  /**
   * External Account Binding for the ACME account.
   * @default - none
   */
  readonly externalAccountBinding?: ExternalAccountBinding;
  /**
   * Name of the root (issuer common name) of the alternate chain to prefer.
   * @default - the CA's default chain
   */
  readonly preferredChain?: string;
  /**
   * ACME profile for every certificate without its own (Let's Encrypt: `classic`, `tlsserver`,
   * `shortlived`), checked by the function against the directory's `meta.profiles`. For the
   * Let's Encrypt profiles the construct warns at synth when the schedule runs too seldom for
   * the profile's certificate lifetime.
   * @default - none: the CA's default profile
   */
  readonly profile?: string;
  /**
   * Use ACME Renewal Information (RFC 9773) when the CA offers it: the CA says when to renew.
   * @default true
   */
  readonly ari?: boolean;
  /**
   * Further CAs, tried in order for a certificate the primary CA (`directory`) refuses, fails
   * or rate-limits; the next renewal tries the primary again.
   * @default - none
   */
  readonly fallbackCas?: FallbackCa[];
  /**
   * The primary CA's rate limits, for a CA other than Let's Encrypt.
   * @default - Let's Encrypt's published limits
   */
  readonly rateLimits?: CaRateLimits;
  /**
   * Renew when less than this remains before expiry (whole days).
   * @default - when less than a third of the certificate's lifetime remains
   */
  readonly renewBefore?: Duration;
  /**
   * Resolvers (`host` or `host:port`) the DNS propagation check asks.
   * @default - the hosted zone's authoritative name servers
   */
  readonly propagationResolvers?: string[];
  /**
   * How long to wait for challenge records to become visible.
   * @default Duration.minutes(3)
   */
  readonly propagationTimeout?: Duration;
  /**
   * How many certificates' orders run at the same time.
   * @default 10
   */
  readonly concurrency?: number;
  /**
   * Secrets are named `<secretPrefix>/<certificate name>`; the function may only touch these.
   * @default 'acme-renewer'
   */
  readonly secretPrefix?: string;
  /**
   * Customer managed KMS key the secrets are encrypted with.
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * When the renewal runs.
   * @default Schedule.expression('cron(17 3,15 * * ? *)') - twice a day, off the hour
   */
  readonly schedule?: events.Schedule;
  /**
   * The longest gap between two scheduled runs (the missed-run alarm fires after two).
   * @default - read from `schedule` (rate expressions, and cron expressions that run every day)
   */
  readonly scheduleInterval?: Duration;
  /**
   * Topic the alarms notify.
   * @default - a new topic
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Alarm when a certificate has less than this left before it expires.
   * @default - Duration.days(14), or half the time left at renewal when a known short-lived
   * profile (Let's Encrypt `shortlived`: 26.7 hours) makes that shorter, so the alarm can clear
   */
  readonly expiryAlarmThreshold?: Duration;
  /**
   * A CloudWatch dashboard (days left per certificate, runs and failures, throttling retries,
   * run duration) and the stack output `DashboardUrl` with its console address.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Memory of the function, in MiB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency of the function: that many executions are kept for it and it never
   * runs more at once. Not needed for safety (a run lease in the state table keeps overlapping
   * runs from changing anything); set it only where the account's concurrency quota leaves at
   * least 100 unreserved afterwards, e.g. to guarantee a run a slot in a busy account.
   * @default - none: the function uses the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Hosted zones in other AWS accounts, by zone name: the function assumes the zone's role for
   * every challenge record in that zone (a name equal to the zone name or below it), and its own
   * role gets no Route 53 change permission for those names. Create the role in the DNS account
   * with `DnsZoneAccessRole`; the stack output `DnsAccountPolicies` prints what it needs.
   * @default - none: every zone is in this account
   */
  readonly zoneRoles?: Record<string, DnsZoneRole>;
  /**
   * EventBridge events for issued, renewed and failed certificates.
   * @default - enabled, on the default event bus
   */
  readonly events?: RenewerEvents;
  /**
   * TLS verification of the listeners (the report's `verified`).
   * @default - enabled, every 24 hours
   */
  readonly verify?: RenewerVerification;
  /**
   * A VPC to run the function in, so the TLS verification reaches internal load balancers. The
   * subnets need a route to the AWS APIs, the CA and public DNS (a NAT gateway, or VPC
   * endpoints for the AWS services plus a NAT for the CA).
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Where in `vpc` the function's network interfaces go.
   * @default - the VPC's private subnets (CDK's default selection)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of the function in `vpc`.
   * @default - a new security group allowing all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}
