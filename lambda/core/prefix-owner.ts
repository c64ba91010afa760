/**
 * One owner per `secretPrefix`. Two deployments that share a prefix (two stacks in one account,
 * staging and production side by side) would each reissue the other's certificates and take the
 * other's listeners: so a deployment claims its prefix on its first run, in a secret under the
 * prefix (`<prefix>/_owner`, created create-only, so two first runs cannot both win), and a
 * deployment that finds the prefix owned by another stops before it changes anything.
 */
import { SecretScheduledForDeletionError, type SecretsStore } from '../store/secrets-store.js';

/** Who this deployment is: its state table (one per deployment), else its function. */
export interface PrefixOwner {
  owner: string;
  stateTable?: string;
  functionName?: string;
}

interface Claim extends PrefixOwner {
  claimedAt: string;
}

/** The prefix belongs to another deployment: this invocation changed nothing. */
export class PrefixOwnedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PrefixOwnedError';
  }
}

/** This deployment's identity, from the Lambda environment. */
export function ownerFromEnvironment(env: NodeJS.ProcessEnv = process.env): PrefixOwner {
  const stateTable = env.RENEWER_STATE_TABLE || undefined;
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME || undefined;
  return {
    owner: stateTable ?? functionName ?? 'local',
    ...(stateTable ? { stateTable } : {}),
    ...(functionName ? { functionName } : {}),
  };
}

function parseClaim(text: string): Claim | undefined {
  try {
    const value = JSON.parse(text) as Partial<Claim>;
    return typeof value.owner === 'string' && value.owner.length > 0 ? (value as Claim) : undefined;
  } catch {
    return undefined;
  }
}

function who(claim: PrefixOwner): string {
  return claim.stateTable
    ? `state table ${claim.stateTable}`
    : claim.functionName
      ? `function ${claim.functionName}`
      : claim.owner;
}

/**
 * Why the claim secret could not be read, as the error the run stops with. A hand-over done with
 * a plain `delete-secret` leaves the claim scheduled for deletion for 7 to 30 days, during which
 * Secrets Manager neither reads it nor creates a new one under its name: the message says how to
 * finish the hand-over, or undo it. Any other read error is returned as it is.
 */
export function unreadableClaim(
  prefix: string,
  secretName: string,
  me: PrefixOwner,
  error: Error,
): Error {
  if (!(error instanceof SecretScheduledForDeletionError)) return error;
  return new PrefixOwnedError(
    `secretPrefix "${prefix}": its claim secret ${secretName} is scheduled for deletion, so no deployment owns the prefix until it is gone; this deployment (${who(me)}) changed nothing. To hand the prefix over, delete it for good (aws secretsmanager delete-secret --secret-id ${secretName} --force-delete-without-recovery) and invoke again; to keep the previous owner, restore it (aws secretsmanager restore-secret --secret-id ${secretName})`,
    { cause: error },
  );
}

/**
 * Claims the prefix for `me`, or checks the claim: `existing` is the claim secret's text as the
 * run's batch read found it ('' when absent). A dry run checks and never writes.
 * @returns `claimed` (written now), `owned` (ours already), `unclaimed` (dry run, would claim)
 * @throws PrefixOwnedError when another deployment owns the prefix
 */
export async function claimPrefix(
  store: SecretsStore,
  prefix: string,
  me: PrefixOwner,
  options: { dryRun: boolean; existing: string; now: Date },
): Promise<'claimed' | 'owned' | 'unclaimed'> {
  const secretName = store.ownerSecretName();
  let text = options.existing;
  if (text === '') {
    if (options.dryRun) return 'unclaimed';
    const claim: Claim = { ...me, claimedAt: options.now.toISOString() };
    if (await store.createOnly(secretName, JSON.stringify(claim))) return 'claimed';
    // Another deployment's first run created it a moment ago: its claim decides.
    text = (await store.read(secretName)) ?? '';
  }
  const claim = parseClaim(text);
  if (!claim) {
    throw new PrefixOwnedError(
      `secretPrefix "${prefix}": the claim secret ${secretName} is not a claim this tool wrote; this deployment (${who(me)}) changed nothing. Delete that secret if nothing else owns the prefix (aws secretsmanager delete-secret --secret-id ${secretName} --force-delete-without-recovery), or give this deployment its own secretPrefix`,
    );
  }
  if (claim.owner === me.owner) return 'owned';
  throw new PrefixOwnedError(
    `secretPrefix "${prefix}" belongs to another deployment (${who(claim)}, claimed ${claim.claimedAt}); this deployment (${who(me)}) changed nothing. Give one of them its own secretPrefix; to hand the prefix over on purpose, delete the claim (aws secretsmanager delete-secret --secret-id ${secretName} --force-delete-without-recovery) and invoke again`,
  );
}
