/**
 * AWS STS over the Query protocol (`Action=AssumeRole&Version=2011-06-15`): the roles tests
 * register, the temporary credentials AssumeRole hands out, and which account each access key
 * belongs to, so the other emulated services can tell callers' accounts apart.
 *
 * Shapes and errors follow the STS API reference, "AssumeRole"
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html) and
 * "GetCallerIdentity" (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
 */
import { ApiError, randomChars, type XmlValue } from './protocol.js';

/** Namespace of every STS document. */
export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** The Query API version the SDK sends for STS. */
export const STS_VERSION = '2011-06-15';

/** A role another account's principals may assume. */
export interface EmulatedRole {
  readonly roleArn: string;
  readonly account: string;
  readonly roleName: string;
  readonly roleId: string;
  /** The trust policy's `sts:ExternalId` condition; `undefined` when there is none. */
  readonly externalId: string | undefined;
  /** Accounts whose principals the trust policy allows. */
  readonly trustedAccounts: readonly string[];
  /** The role's MaxSessionDuration, seconds (IAM's default is 3600). */
  readonly maxSessionDuration: number;
}

/** Who signed a request, from its access key. */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

/** One successful AssumeRole, for tests. */
export interface AssumedSession {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly externalId: string | undefined;
  readonly accessKeyId: string;
  readonly expiration: Date;
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** The STS store: registered roles and the sessions handed out. */
export class StsStore {
  readonly roles = new Map<string, EmulatedRole>();
  readonly sessions = new Map<string, AssumedSession & { identity: CallerIdentity }>();
  /** Every AssumeRole request, granted or not, in arrival order. */
  readonly assumeRoleRequests: Array<{ roleArn: string; granted: boolean }> = [];

  constructor(readonly homeAccount: string) {}

  /**
   * Registers a role. Without `trustedAccounts` the trust policy allows the emulator's own
   * account; without `externalId` it has no `sts:ExternalId` condition.
   */
  createRole(options: {
    roleArn: string;
    externalId?: string;
    trustedAccounts?: string[];
    maxSessionDuration?: number;
  }): EmulatedRole {
    const match = ROLE_ARN.exec(options.roleArn);
    if (!match?.[1] || !match[2]) throw new Error(`not a role ARN: ${options.roleArn}`);
    const role: EmulatedRole = {
      roleArn: options.roleArn,
      account: match[1],
      roleName: match[2],
      roleId: `AROA${randomChars(17)}`,
      externalId: options.externalId,
      trustedAccounts: [...(options.trustedAccounts ?? [this.homeAccount])],
      maxSessionDuration: options.maxSessionDuration ?? 3600,
    };
    this.roles.set(role.roleArn, role);
    return role;
  }

  /**
   * The identity behind an access key: a key AssumeRole handed out is that role's session in the
   * role's account; any other key is a user of the emulator's own account.
   */
  identity(accessKeyId: string | undefined): CallerIdentity {
    const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
    if (session) return session.identity;
    return {
      account: this.homeAccount,
      arn: `arn:aws:iam::${this.homeAccount}:user/emulator`,
      userId: 'AIDAEMULATORUSER0001',
    };
  }

  /** AssumeRole's checks, in the order the service applies them, then a new session. */
  assumeRole(form: Map<string, string>, caller: CallerIdentity, now = new Date()): XmlValue {
    const roleArn = form.get('RoleArn');
    const sessionName = form.get('RoleSessionName');
    const externalId = form.get('ExternalId');
    const rawDuration = form.get('DurationSeconds');
    if (roleArn === undefined || roleArn.length < 20) {
      throw new ApiError(
        'ValidationError',
        "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
      );
    }
    if (sessionName === undefined || !/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new ApiError(
        'ValidationError',
        `1 validation error detected: Value '${sessionName ?? ''}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2 to 64`,
      );
    }
    if (externalId !== undefined && (externalId.length < 2 || externalId.length > 1224)) {
      throw new ApiError(
        'ValidationError',
        "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224",
      );
    }
    const duration = rawDuration === undefined ? 3600 : Number(rawDuration);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw new ApiError(
        'ValidationError',
        `1 validation error detected: Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    const role = this.roles.get(roleArn);
    // An unknown role, an untrusted principal and a failed ExternalId condition all look the
    // same to the caller: AccessDenied (403), so the trust policy is not disclosed.
    const trustsCaller = role?.trustedAccounts.includes(caller.account) ?? false;
    const trusted =
      trustsCaller && (role?.externalId === undefined || role.externalId === externalId);
    this.assumeRoleRequests.push({ roleArn, granted: trusted });
    if (!role || !trusted) {
      throw new ApiError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    }
    if (duration > role.maxSessionDuration) {
      throw new ApiError(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    const accessKeyId = `ASIA${randomChars(16)}`;
    const expiration = new Date(Math.floor(now.getTime() / 1000) * 1000 + duration * 1000);
    const assumedArn = `arn:aws:sts::${role.account}:assumed-role/${role.roleName}/${sessionName}`;
    const userId = `${role.roleId}:${sessionName}`;
    this.sessions.set(accessKeyId, {
      roleArn,
      sessionName,
      externalId,
      accessKeyId,
      expiration,
      identity: { account: role.account, arn: assumedArn, userId },
    });
    return {
      Credentials: {
        AccessKeyId: accessKeyId,
        SecretAccessKey: randomChars(40),
        SessionToken: `FwoGZXIvYXdzE${randomChars(120)}`,
        // STS writes whole seconds: 2019-11-09T13:34:41Z.
        Expiration: expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      AssumedRoleUser: { Arn: assumedArn, AssumedRoleId: userId },
      PackedPolicySize: undefined,
    };
  }
}

/** Runs one STS action and returns the `<ActionResult>` content. */
export function handleSts(
  store: StsStore,
  action: string,
  form: Map<string, string>,
  caller: CallerIdentity,
): XmlValue {
  switch (action) {
    case 'AssumeRole':
      return store.assumeRole(form, caller);
    case 'GetCallerIdentity':
      return { UserId: caller.userId, Account: caller.account, Arn: caller.arn };
    default:
      throw new ApiError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`,
      );
  }
}

/** The access key of a SigV4 `Authorization` header: `Credential=AKID/20261122/...`. */
export function accessKeyFromAuthorization(header: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(header ?? '')?.[1];
}
