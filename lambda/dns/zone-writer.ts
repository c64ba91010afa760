/**
 * Compare-and-swap writes of TXT sets in one hosted zone: read the names, plan DELETE-exact +
 * CREATE per name, pack the plans into requests within Route 53's limits, send them a few at a
 * time, and on a conflict re-read only that request's names and try again. A request's failure
 * fails only the names in it.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { type BatchLimits, type NameChange, packBatches } from './change-batches.js';
import { DnsChangeError } from './errors.js';
import { readTxtSets, type TxtSets, type ValuesByName } from './record-sets.js';
import type { Semaphore } from './semaphore.js';
import type { Route53Call } from './zones.js';

/** Plans the changes for our values given the sets as read (pure). */
export type Planner = (existing: TxtSets, ours: ValuesByName) => NameChange[];

/** A request Route 53 accepted, with the names it covered. */
export interface AcceptedChange {
  readonly changeId: string;
  readonly status?: string;
  readonly names: string[];
}

/** Names whose change failed. */
export interface FailedNames {
  readonly names: string[];
  readonly error: unknown;
  /** Route 53 answered AccessDenied for exactly these names (a request of one name). */
  readonly denied: boolean;
}

/** What {@link ZoneWriter.write} did. */
export interface WriteOutcome {
  readonly accepted: AcceptedChange[];
  readonly failed: FailedNames[];
}

/** Options of {@link ZoneWriter}. */
export interface ZoneWriterOptions {
  /** The Route 53 client of the account that holds the zone. */
  readonly clientFor: (zoneId: string) => Promise<Route53Client>;
  /** Runs a call under the solver's throttling backoff. */
  readonly call: Route53Call;
  /** Bounds the change requests in flight across all zones of the solver. */
  readonly limit: Semaphore;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Tries per request (the first included) when Route 53 answers InvalidChangeBatch. */
  readonly attempts: number;
  /** @default - Route 53's documented limits */
  readonly limits?: BatchLimits;
  /** Called before each retry after a conflict, for logging. */
  readonly onConflict?: (zoneId: string, names: string[], attempt: number) => void;
}

/** Route 53's answer to a DELETE that does not match, or a CREATE of an existing set. */
function isConflict(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'InvalidChangeBatch';
}

/** AccessDenied from IAM (the REST-XML code, the JSON one, or just HTTP 403). */
export function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  return (
    e?.name === 'AccessDenied' ||
    e?.name === 'AccessDeniedException' ||
    e?.$metadata?.httpStatusCode === 403
  );
}

function only(ours: ValuesByName, names: string[]): ValuesByName {
  const out: ValuesByName = new Map();
  for (const name of names) {
    const values = ours.get(name);
    if (values !== undefined) out.set(name, values);
  }
  return out;
}

/** See the module comment. One instance per solver. */
export class ZoneWriter {
  constructor(private readonly options: ZoneWriterOptions) {}

  /**
   * Brings the sets at `ours`' names to what `plan` wants.
   * @throws only when the first read fails (then nothing was changed).
   */
  async write(
    zoneId: string,
    ours: ValuesByName,
    plan: Planner,
    comment: string,
  ): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { accepted: [], failed: [] };
    const plans = plan(await this.read(zoneId, [...ours.keys()]), ours);
    await this.apply({ zoneId, ours, plan, comment, outcome }, plans, 1);
    return outcome;
  }

  private async apply(job: Job, plans: NameChange[], attempt: number): Promise<void> {
    const { batches, oversized } = packBatches(plans, this.options.limits);
    for (const { plan, cost } of oversized) {
      job.outcome.failed.push({
        names: [plan.name],
        denied: false,
        error: new DnsChangeError(
          `its change needs ${cost.records} resource records and ${cost.chars} characters in one request, over Route 53's limit of 1,000 records and 32,000 characters: remove stale values at that name`,
        ),
      });
    }
    await Promise.all(batches.map((batch) => this.applyBatch(job, batch, attempt)));
  }

  private async applyBatch(job: Job, batch: NameChange[], attempt: number): Promise<void> {
    const names = batch.map((p) => p.name);
    try {
      const route53 = await this.options.clientFor(job.zoneId);
      const out = await this.options.limit.run(() =>
        this.options.call('ChangeResourceRecordSets', () =>
          route53.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: job.zoneId,
              ChangeBatch: { Comment: job.comment, Changes: batch.flatMap((p) => p.changes) },
            }),
          ),
        ),
      );
      job.outcome.accepted.push({
        changeId: out.ChangeInfo?.Id ?? '',
        status: out.ChangeInfo?.Status,
        names,
      });
    } catch (error) {
      if (isConflict(error)) return this.retry(job, names, attempt, error);
      if (isAccessDenied(error) && batch.length > 1) {
        // The IAM policy names each challenge record it allows; one name it no longer covers
        // (a journal entry from before a configuration change) must not block the others.
        await Promise.all(batch.map((plan) => this.applyBatch(job, [plan], attempt)));
        return;
      }
      job.outcome.failed.push({ names, error, denied: isAccessDenied(error) });
    }
  }

  /** A set changed between our read and our request: re-read these names, re-plan, resend. */
  private async retry(job: Job, names: string[], attempt: number, error: unknown): Promise<void> {
    if (attempt >= this.options.attempts) {
      job.outcome.failed.push({
        names,
        denied: false,
        error: new DnsChangeError(
          `Route 53 rejected the change ${attempt} times as InvalidChangeBatch (the set kept changing between read and write, or the change is invalid): ${(error as Error).message}`,
          { cause: error },
        ),
      });
      return;
    }
    this.options.onConflict?.(job.zoneId, names, attempt);
    // Full jitter, so two writers that collided do not collide again in lockstep.
    await this.options.sleep(Math.floor(this.options.random() * retryCeilingMs(attempt)));
    let plans: NameChange[];
    try {
      const ours = only(job.ours, names);
      plans = job.plan(await this.read(job.zoneId, names), ours);
    } catch (readError) {
      job.outcome.failed.push({ names, error: readError, denied: isAccessDenied(readError) });
      return;
    }
    // Nothing left to change (another writer did it, or a lost answer hid our success).
    if (plans.length === 0) return;
    await this.apply(job, plans, attempt + 1);
  }

  private async read(zoneId: string, names: string[]): Promise<TxtSets> {
    const route53 = await this.options.clientFor(zoneId);
    return readTxtSets(
      (input) =>
        this.options.call('ListResourceRecordSets', () =>
          route53.send(new ListResourceRecordSetsCommand(input)),
        ),
      zoneId,
      names,
    );
  }
}

/** Upper bound of the jittered pause before retry `attempt` (1-based) after a conflict. */
export function retryCeilingMs(attempt: number): number {
  return Math.min(2_000, 100 * 2 ** attempt);
}

interface Job {
  readonly zoneId: string;
  readonly ours: ValuesByName;
  readonly plan: Planner;
  readonly comment: string;
  readonly outcome: WriteOutcome;
}
