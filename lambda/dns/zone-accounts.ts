/**
 * Hosted zones in other AWS accounts (config `dns.zoneRoles`): which Route 53 client serves
 * which zone. A domain under a zoneRoles zone name is looked up, written and polled in that
 * account through a role assumed once per solver (its credentials reused until five minutes
 * before they expire); every other zone is the home account's, as before.
 */
import {
  ListHostedZonesByNameCommand,
  type ListHostedZonesByNameCommandOutput,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { HostedZoneInfo } from '../core/types.js';
import { DuplicateZoneError, ZoneNotFoundError, ZoneRoleError } from './errors.js';
import { normalizeDnsName } from './record-sets.js';
import { isAccessDenied } from './zone-writer.js';
import { type Route53Call, stripZonePrefix, zoneHolds } from './zones.js';

/** One `dns.zoneRoles` entry: the role to assume for a zone in another account. */
export interface ZoneRole {
  /** `arn:aws:iam::<account>:role/<name>`, in the account that holds the zone. */
  readonly roleArn: string;
  /** The `sts:ExternalId` the role's trust policy requires. */
  readonly externalId: string;
}

/** `dns.zoneRoles`: zone name (lower case, no trailing dot) to the role that reaches it. */
export type ZoneRoles = Readonly<Record<string, ZoneRole>>;

/** Temporary credentials, as the SDK's credential providers return them. */
export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/**
 * Makes the Route 53 client of another account from a credential provider (called before each
 * request; it answers from its cache until the credentials are about to expire).
 */
export type Route53ClientFactory = (
  credentials: () => Promise<TemporaryCredentials>,
) => Route53Client;

/** Options of {@link ZoneAccounts}. */
export interface ZoneAccountsOptions {
  /** The function's own account's client. */
  readonly home: Route53Client;
  /** @default - no zones in other accounts */
  readonly zoneRoles?: ZoneRoles;
  /**
   * Builds a role account's Route 53 client.
   * @default - a client like `home` (same region, endpoint and retries) with these credentials
   */
  readonly clientFor?: Route53ClientFactory;
  /**
   * STS client for AssumeRole (injected so tests can point it at the emulator).
   * @default - `new STSClient({})`: region and endpoint (`AWS_ENDPOINT_URL_STS`) from the environment
   */
  readonly sts?: STSClient;
  /** Runs a Route 53 call under the solver's throttling backoff. */
  readonly call: Route53Call;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 'acme-renewer' */
  readonly roleSessionName?: string;
  /** Session length asked of STS. @default 3600 - IAM's default MaxSessionDuration */
  readonly durationSeconds?: number;
}

/** Credentials are renewed when they have less than this left (as the SDK's own providers do). */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

/** The account id of a role ARN (`arn:aws:iam::444455556666:role/x` -> `444455556666`). */
export function roleAccount(roleArn: string): string {
  return /^arn:aws[\w-]*:iam::(\d{12}):/.exec(roleArn)?.[1] ?? 'unknown';
}

interface RoleSession {
  readonly role: ZoneRole;
  readonly client: Route53Client;
  credentials?: TemporaryCredentials;
  pending?: Promise<TemporaryCredentials>;
}

/** See the module comment. One instance per solver (per run). */
export class ZoneAccounts {
  private readonly roles: Array<[string, ZoneRole]>;
  private readonly sessions = new Map<string, RoleSession>();
  /** Zone id to the role session that reaches it; absent ids are the home account's. */
  private readonly zoneSessions = new Map<string, RoleSession>();
  /** Zone ids seen in the home account, so they never cost a look-up in a role's account. */
  private readonly homeZones = new Set<string>();
  /** Per zoneRoles zone name: the look-up in the role's account, in flight or done. */
  private readonly lookups = new Map<string, Promise<HostedZoneInfo[]>>();
  private sts?: STSClient;
  private readonly now: () => number;

  constructor(private readonly options: ZoneAccountsOptions) {
    this.roles = Object.entries(options.zoneRoles ?? {}).map(([zone, role]) => [
      normalizeDnsName(zone),
      role,
    ]);
    this.now = options.now ?? Date.now;
  }

  /** Whether any zone lives in another account. */
  get enabled(): boolean {
    return this.roles.length > 0;
  }

  /** The zoneRoles entry whose zone name holds the domain (longest at a label boundary). */
  roleFor(domain: string): { zone: string; role: ZoneRole } | undefined {
    let best: { zone: string; role: ZoneRole } | undefined;
    for (const [zone, role] of this.roles) {
      if (zoneHolds(zone, domain) && zone.length > (best?.zone.length ?? -1)) best = { zone, role };
    }
    return best;
  }

  /**
   * The public zone named `zone` in the role's account: one ListHostedZonesByName with the
   * role's client, read once per solver.
   * @throws ZoneRoleError when the role cannot be assumed; ZoneNotFoundError or
   *   DuplicateZoneError when the account has no or several public zones of the name
   */
  async findRoleZone(zone: string, hostedZoneId?: string): Promise<HostedZoneInfo> {
    const found = await this.lookup(zone);
    const role = this.roleFor(zone)?.role;
    const where = `account ${roleAccount(role?.roleArn ?? '')} through role ${role?.roleArn}`;
    if (hostedZoneId !== undefined && hostedZoneId !== '') {
      const id = stripZonePrefix(hostedZoneId);
      const given = found.find((z) => z.id === id);
      if (given) return given;
      throw new ZoneNotFoundError(
        `hosted zone "${id}" (hostedZoneId) is not the public zone ${zone} (dns.zoneRoles) in ${where} (found: ${found.map((z) => z.id).join(', ') || 'none'}): fix hostedZoneId or leave it out`,
      );
    }
    const [first, ...others] = found;
    if (first !== undefined && others.length === 0) return first;
    if (first !== undefined) {
      throw new DuplicateZoneError(
        `${found.length} public hosted zones named ${zone} (dns.zoneRoles) in ${where} (${found.map((z) => z.id).join(', ')}): set hostedZoneId to the one your registrar delegates the domain to`,
      );
    }
    throw new ZoneNotFoundError(
      `hosted zone ${zone} (dns.zoneRoles) not found in ${where}: create it there or fix dns.zoneRoles`,
    );
  }

  /** Records zone ids read from the home account. */
  noteHome(zoneIds: Iterable<string>): void {
    for (const id of zoneIds) this.homeZones.add(stripZonePrefix(id));
  }

  /**
   * The client for a zone id. A zone found through a role is that role's account's; an id this
   * instance has not seen (a value left by an earlier run, from the journal) is looked for among
   * the zoneRoles zones first, then taken as the home account's.
   */
  async clientFor(zoneId: string): Promise<Route53Client> {
    const id = stripZonePrefix(zoneId);
    let session = this.zoneSessions.get(id);
    if (session === undefined && this.enabled && !this.homeZones.has(id)) {
      await Promise.all(
        this.roles.map(([zone]) => this.lookup(zone).catch(() => [] as HostedZoneInfo[])),
      );
      session = this.zoneSessions.get(id);
    }
    if (session === undefined) return this.options.home;
    await this.credentials(session);
    return session.client;
  }

  private lookup(zone: string): Promise<HostedZoneInfo[]> {
    let pending = this.lookups.get(zone);
    if (pending === undefined) {
      pending = this.readRoleZones(zone);
      this.lookups.set(zone, pending);
      // A refused role stays refused for the run (one AssumeRole, one clear error per
      // certificate); anything else (throttling past the backoff, a network error) is retried.
      pending.catch((error: unknown) => {
        if (!(error instanceof ZoneRoleError)) this.lookups.delete(zone);
      });
    }
    return pending;
  }

  private async readRoleZones(zone: string): Promise<HostedZoneInfo[]> {
    const entry = this.roles.find(([name]) => name === zone);
    if (!entry) throw new Error(`no dns.zoneRoles entry for ${zone}`);
    const session = this.session(entry[1]);
    await this.credentials(session);
    let page: ListHostedZonesByNameCommandOutput;
    try {
      page = await this.options.call('ListHostedZonesByName', () =>
        session.client.send(new ListHostedZonesByNameCommand({ DNSName: zone, MaxItems: 100 })),
      );
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      throw new ZoneRoleError(
        `role ${session.role.roleArn} (dns.zoneRoles ${zone}) may not list hosted zones in account ${roleAccount(session.role.roleArn)}: ${(error as Error).message}; its permission policy must allow route53:ListHostedZonesByName`,
        { cause: error },
      );
    }
    const zones: HostedZoneInfo[] = [];
    for (const z of page.HostedZones ?? []) {
      const name = normalizeDnsName(z.Name ?? '');
      if (name !== zone || z.Config?.PrivateZone === true || z.Id === undefined) continue;
      const id = stripZonePrefix(z.Id);
      zones.push({ id, name });
      this.zoneSessions.set(id, session);
    }
    return zones;
  }

  private session(role: ZoneRole): RoleSession {
    const key = `${role.roleArn}\n${role.externalId}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      const provider = () => this.credentials(created);
      const client = this.options.clientFor?.(provider) ?? this.defaultClient(provider);
      const created: RoleSession = { role, client };
      session = created;
      this.sessions.set(key, session);
    }
    return session;
  }

  private defaultClient(credentials: () => Promise<TemporaryCredentials>): Route53Client {
    const { home } = this.options;
    return new Route53Client({
      region: home.config.region,
      ...(home.config.isCustomEndpoint ? { endpoint: home.config.endpoint } : {}),
      maxAttempts: home.config.maxAttempts,
      credentials,
    });
  }

  /** The session's credentials: cached, shared while in flight, renewed near expiry. */
  private credentials(session: RoleSession): Promise<TemporaryCredentials> {
    const current = session.credentials;
    const fresh =
      current !== undefined &&
      (current.expiration === undefined ||
        current.expiration.getTime() - this.now() > REFRESH_BEFORE_EXPIRY_MS);
    if (fresh) return Promise.resolve(current);
    if (session.pending === undefined) {
      const pending = this.assume(session.role).then(
        (credentials) => {
          session.credentials = credentials;
          session.pending = undefined;
          return credentials;
        },
        (error: unknown) => {
          // A refusal is final for the run; other failures may be retried by the next caller.
          if (!(error instanceof ZoneRoleError)) session.pending = undefined;
          throw error;
        },
      );
      session.pending = pending;
    }
    return session.pending;
  }

  private async assume(role: ZoneRole): Promise<TemporaryCredentials> {
    this.sts ??= this.options.sts ?? new STSClient({});
    let out: AssumeRoleCommandOutput;
    try {
      out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: role.roleArn,
          RoleSessionName: this.options.roleSessionName ?? 'acme-renewer',
          ExternalId: role.externalId,
          DurationSeconds: this.options.durationSeconds ?? 3600,
        }),
      );
    } catch (error) {
      const reason = (error as Error).message;
      if (isAccessDenied(error)) {
        throw new ZoneRoleError(
          `could not assume role ${role.roleArn} (dns.zoneRoles): access denied (${reason}); the role's trust policy in account ${roleAccount(role.roleArn)} must allow sts:AssumeRole to this function's execution role as principal, with the condition StringEquals sts:ExternalId equal to the configured externalId (and the function's role may need sts:AssumeRole on ${role.roleArn})`,
          { cause: error },
        );
      }
      // Not a ZoneRoleError: a network error or throttling may pass, so the next caller retries.
      throw new Error(`could not assume role ${role.roleArn} (dns.zoneRoles): ${reason}`, {
        cause: error,
      });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) {
      throw new ZoneRoleError(`AssumeRole for ${role.roleArn} returned no credentials`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken !== undefined && { sessionToken: c.SessionToken }),
      ...(c.Expiration !== undefined && { expiration: c.Expiration }),
    };
  }
}
