import { describe, expect, it } from 'vitest';
import {
  claimPrefix,
  ownerFromEnvironment,
  PrefixOwnedError,
  unreadableClaim,
} from '../../../lambda/core/prefix-owner.js';
import {
  SecretScheduledForDeletionError,
  type SecretsStore,
} from '../../../lambda/store/secrets-store.js';

/** Secrets Manager's create-only semantics for the one claim secret. */
class ClaimStore {
  secrets = new Map<string, string>();
  creates = 0;
  /** Another deployment's first run wins the race just before ours. */
  raceWith?: string;

  ownerSecretName(): string {
    return 'acme-renewer/_owner';
  }

  async createOnly(name: string, text: string): Promise<boolean> {
    this.creates++;
    if (this.raceWith) this.secrets.set(name, this.raceWith);
    if (this.secrets.has(name)) return false;
    this.secrets.set(name, text);
    return true;
  }

  async read(name: string): Promise<string | undefined> {
    return this.secrets.get(name);
  }

  asStore(): SecretsStore {
    return this as unknown as SecretsStore;
  }
}

const NOW = new Date('2026-12-02T12:00:00Z');
const PROD = { owner: 'prod-state', stateTable: 'prod-state' };
const STAGING = { owner: 'staging-state', stateTable: 'staging-state' };

describe('claimPrefix', () => {
  it('claims an unclaimed prefix once, then finds it its own', async () => {
    const store = new ClaimStore();

    const first = await claimPrefix(store.asStore(), 'acme-renewer', PROD, {
      dryRun: false,
      existing: '',
      now: NOW,
    });
    const text = store.secrets.get('acme-renewer/_owner') ?? '';
    const again = await claimPrefix(store.asStore(), 'acme-renewer', PROD, {
      dryRun: false,
      existing: text,
      now: NOW,
    });

    expect(first).toBe('claimed');
    expect(JSON.parse(text)).toEqual({ ...PROD, claimedAt: NOW.toISOString() });
    expect(again).toBe('owned');
    expect(store.creates).toBe(1);
  });

  it('another owner stops the run, naming the prefix, both deployments and the hand-over', async () => {
    const store = new ClaimStore();
    const claim = JSON.stringify({ ...PROD, claimedAt: '2026-11-01T00:00:00.000Z' });

    const attempt = claimPrefix(store.asStore(), 'acme-renewer', STAGING, {
      dryRun: false,
      existing: claim,
      now: NOW,
    });

    await expect(attempt).rejects.toThrow(PrefixOwnedError);
    await expect(attempt).rejects.toThrow(
      'secretPrefix "acme-renewer" belongs to another deployment (state table prod-state, claimed 2026-11-01T00:00:00.000Z); this deployment (state table staging-state) changed nothing',
    );
    await expect(attempt).rejects.toThrow('delete-secret --secret-id acme-renewer/_owner');
    expect(store.creates).toBe(0);
  });

  it('two first runs at once: the one that created the claim wins, the other fails', async () => {
    const store = new ClaimStore();
    store.raceWith = JSON.stringify({ ...PROD, claimedAt: NOW.toISOString() });

    const attempt = claimPrefix(store.asStore(), 'acme-renewer', STAGING, {
      dryRun: false,
      existing: '',
      now: NOW,
    });

    await expect(attempt).rejects.toThrow(/belongs to another deployment \(state table prod-state/);
    expect(JSON.parse(store.secrets.get('acme-renewer/_owner') ?? '')).toMatchObject(PROD);
  });

  it('a dry run never writes the claim', async () => {
    const store = new ClaimStore();

    const result = await claimPrefix(store.asStore(), 'acme-renewer', PROD, {
      dryRun: true,
      existing: '',
      now: NOW,
    });

    expect(result).toBe('unclaimed');
    expect(store.secrets.size).toBe(0);
  });

  it('a claim secret this tool did not write is not overwritten', async () => {
    const store = new ClaimStore();

    const attempt = claimPrefix(store.asStore(), 'acme-renewer', PROD, {
      dryRun: false,
      existing: 'hello',
      now: NOW,
    });

    await expect(attempt).rejects.toThrow(/is not a claim this tool wrote/);
    expect(store.creates).toBe(0);
  });

  it('a claim scheduled for deletion says how to finish the hand-over or undo it', () => {
    // Arrange
    const deleted = new SecretScheduledForDeletionError('acme-renewer/_owner');

    // Act
    const error = unreadableClaim('acme-renewer', 'acme-renewer/_owner', STAGING, deleted);
    const other = new Error('throttled');

    // Assess
    expect(error).toBeInstanceOf(PrefixOwnedError);
    expect(error.message).toContain('is scheduled for deletion, so no deployment owns the prefix');
    expect(error.message).toContain(
      'delete-secret --secret-id acme-renewer/_owner --force-delete-without-recovery',
    );
    expect(error.message).toContain('restore-secret --secret-id acme-renewer/_owner');
    expect(unreadableClaim('acme-renewer', 'acme-renewer/_owner', STAGING, other)).toBe(other);
  });

  it('a deployment is its state table, else its function', () => {
    expect(
      ownerFromEnvironment({ RENEWER_STATE_TABLE: 't', AWS_LAMBDA_FUNCTION_NAME: 'f' }),
    ).toEqual({
      owner: 't',
      stateTable: 't',
      functionName: 'f',
    });
    expect(ownerFromEnvironment({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toEqual({
      owner: 'f',
      functionName: 'f',
    });
  });
});
