/**
 * Renewal events on EventBridge: which results become events and what they say (pure), and a
 * publisher that sends them in batches without ever failing the run. The certificates are
 * already stored and served when events go out, so a lost event is a warning, not an error.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { realSleep } from '../core/backoff.js';
import { redact } from '../core/redact.js';
import type { CertificateResult } from '../core/work.js';

/** `source` of every event this tool publishes. */
export const EVENT_SOURCE = 'acme-renewer';
/** `detail-type` for the actions `issued` and `renewed`. */
export const DETAIL_TYPE_ISSUED = 'Certificate Issued';
/** `detail-type` for the action `failed`. */
export const DETAIL_TYPE_FAILED = 'Certificate Failed';

/**
 * Longest `reason` or `error` text kept in an event, in characters. Ten entries of this size
 * stay far below PutEvents' request limit (256 KB in the API reference, 1 MB since 2026).
 */
export const MAX_TEXT_LENGTH = 1_000;

/**
 * Entries per PutEvents request: "Maximum number of 10 items"
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
 */
export const PUT_EVENTS_BATCH_SIZE = 10;

/**
 * Batch byte budget, measured as "Calculating PutEvents event entry size" does
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html); the older
 * 256 KB limit with room to spare, so it holds on every partition.
 */
const BATCH_BYTE_BUDGET = 200 * 1024;

/** What the run knows about one certificate besides its result; never key material. */
export interface CertificateEventContext {
  readonly domains: readonly string[];
  /** ARN of the certificate's secret. */
  readonly secretArn?: string;
  /** ACM certificate ARN per region. */
  readonly acmCertificateArns: Readonly<Record<string, string>>;
}

/** Input of {@link renewalEvents} besides the results. */
export interface RenewalEventsContext {
  /**
   * Bus name or ARN.
   * @default 'default'
   */
  readonly busName?: string;
  /** Per certificate name; a result without an entry gets an event without these fields. */
  readonly certificates: Readonly<Record<string, CertificateEventContext>>;
  /**
   * The events' `time`.
   * @default - the time EventBridge receives them
   */
  readonly time?: Date;
}

/** The `detail` of a renewal event (the contract's fields; undefined ones are left out). */
export interface RenewalEventDetail {
  name: string;
  action: 'issued' | 'renewed' | 'failed';
  domains?: string[];
  serial?: string;
  notAfter?: string;
  reason?: string;
  error?: string;
  secretArn?: string;
  acmCertificateArns?: Record<string, string>;
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const PEM_MARKER = /-----(?:BEGIN|END) [A-Z0-9 ]+-----/g;

/**
 * Text safe for an event: no private key (even a cut one), no PEM block of any kind (an event
 * is a notification, not a transport for certificates), bounded length.
 */
export function eventText(text: string, max = MAX_TEXT_LENGTH): string {
  const clean = redact(text)
    .replace(PEM_BLOCK, '[PEM block removed]')
    .replace(PEM_MARKER, '[PEM marker removed]');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

function detailOf(
  result: CertificateResult,
  action: RenewalEventDetail['action'],
  context: CertificateEventContext | undefined,
): RenewalEventDetail {
  const detail: RenewalEventDetail = { name: result.name, action };
  if (context) detail.domains = [...context.domains];
  if (result.serial !== undefined) detail.serial = result.serial;
  if (result.notAfter !== undefined) detail.notAfter = result.notAfter;
  if (result.reason !== undefined && result.reason !== '') detail.reason = eventText(result.reason);
  if (result.error !== undefined && result.error !== '') detail.error = eventText(result.error);
  if (context?.secretArn !== undefined) detail.secretArn = context.secretArn;
  if (context) detail.acmCertificateArns = { ...context.acmCertificateArns };
  return detail;
}

/**
 * The PutEvents entries for one run: one `Certificate Issued` per `issued`/`renewed` result and
 * one `Certificate Failed` per `failed` result, in result order; none for any other action
 * (`unchanged`, `deployed`, `deferred`, `orphaned`, `retired`), so an idle run publishes nothing.
 * `Resources` lists the secret ARN and the ACM ARNs, so rules can match on them.
 */
export function renewalEvents(
  results: readonly CertificateResult[],
  context: RenewalEventsContext,
): PutEventsRequestEntry[] {
  const entries: PutEventsRequestEntry[] = [];
  for (const result of results) {
    const action = result.action;
    if (action !== 'issued' && action !== 'renewed' && action !== 'failed') continue;
    const certificate = context.certificates[result.name];
    const detail = detailOf(result, action, certificate);
    const resources = [
      ...(certificate?.secretArn !== undefined ? [certificate.secretArn] : []),
      ...Object.keys(certificate?.acmCertificateArns ?? {})
        .sort()
        .map((region) => certificate?.acmCertificateArns[region] as string),
    ];
    entries.push({
      Source: EVENT_SOURCE,
      DetailType: action === 'failed' ? DETAIL_TYPE_FAILED : DETAIL_TYPE_ISSUED,
      Detail: JSON.stringify(detail),
      EventBusName: context.busName ?? 'default',
      Resources: [...new Set(resources)],
      ...(context.time !== undefined && { Time: context.time }),
    });
  }
  return entries;
}

/** What {@link EventPublisher.publish} did. */
export interface PublishOutcome {
  /** Entries EventBridge accepted. */
  sent: number;
  /** Entries given up on. */
  failed: number;
  /** PutEvents commands sent (each may be several HTTP requests: the SDK's own retries). */
  calls: number;
  /** Why entries failed, de-duplicated, at most {@link MAX_ERRORS}. */
  errors: string[];
}

/** Cap on {@link PublishOutcome.errors}: a failing bus must not blow up the run report. */
export const MAX_ERRORS = 10;

/**
 * Per-entry codes worth sending again: "Retryable errors include: InternalFailure ...
 * ThrottlingException" (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
 * Every other code (InvalidArgument, MalformedDetail, AccessDeniedException, a missing bus) fails
 * the same way each time.
 */
const RETRYABLE_ENTRY_CODES = new Set(['InternalFailure', 'ThrottlingException']);

/** Options of {@link EventPublisher}. */
export interface EventPublisherOptions {
  readonly client: EventBridgeClient;
  /** Where the warning about lost events goes. @default - nowhere (the outcome still says) */
  readonly logger?: Logger;
  /**
   * PutEvents sends per batch, the first included, for entries failing with a retryable code.
   * Failed requests are retried by the SDK's own retry strategy, not here.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Delay before the first re-send; doubles per re-send.
   * @default 100
   */
  readonly baseDelayMs?: number;
  /** @default - a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

function describeEntry(entry: PutEventsRequestEntry): string {
  try {
    const detail = JSON.parse(entry.Detail ?? '{}') as { name?: unknown };
    if (typeof detail.name === 'string') return `${entry.DetailType} ${detail.name}`;
  } catch {
    // fall through
  }
  return String(entry.DetailType);
}

function entryBytes(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

/** Splits entries into PutEvents-sized batches (count and bytes). */
export function batches(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const out: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (
      current.length > 0 &&
      (current.length >= PUT_EVENTS_BATCH_SIZE || bytes + size > BATCH_BYTE_BUDGET)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Sends renewal events: batches of {@link PUT_EVENTS_BATCH_SIZE}, re-sending only the entries that
 * failed with a retryable code, with bounded exponential backoff. Never throws.
 *
 * @example
 * const outcome = await new EventPublisher({ client, logger }).publish(renewalEvents(results, ctx));
 */
export class EventPublisher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: EventPublisherOptions) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Publishes every entry it can; failures are logged with a warning and returned. */
  async publish(entries: readonly PutEventsRequestEntry[]): Promise<PublishOutcome> {
    const outcome: PublishOutcome = { sent: 0, failed: 0, calls: 0, errors: [] };
    const note = (message: string) => {
      const text = eventText(message, 500);
      if (!outcome.errors.includes(text) && outcome.errors.length < MAX_ERRORS) {
        outcome.errors.push(text);
      }
    };
    for (const batch of batches(entries)) {
      try {
        await this.sendBatch(batch, outcome, note);
      } catch (error) {
        // Defence in depth: nothing in sendBatch should throw, but a run must never fail here.
        outcome.failed += batch.length;
        note(`events: ${(error as Error).message}`);
      }
    }
    if (outcome.failed > 0) {
      this.options.logger?.warn('renewal events not all published', {
        sent: outcome.sent,
        failed: outcome.failed,
        calls: outcome.calls,
        errors: outcome.errors,
      });
    } else if (outcome.sent > 0) {
      this.options.logger?.info('renewal events published', {
        sent: outcome.sent,
        calls: outcome.calls,
      });
    }
    return outcome;
  }

  private async sendBatch(
    batch: PutEventsRequestEntry[],
    outcome: PublishOutcome,
    note: (message: string) => void,
  ): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      let results: PutEventsResultEntry[];
      outcome.calls++;
      try {
        const answer = await this.options.client.send(new PutEventsCommand({ Entries: pending }));
        results = answer.Entries ?? [];
      } catch (error) {
        // The SDK has already retried what it considers transient; the batch is lost.
        const e = error as Error;
        outcome.failed += pending.length;
        note(`PutEvents failed: ${e.name}: ${e.message}`);
        return;
      }
      const retry: PutEventsRequestEntry[] = [];
      pending.forEach((entry, index) => {
        const result = results[index];
        if (result && !result.ErrorCode && result.EventId) {
          outcome.sent++;
          return;
        }
        const code = result?.ErrorCode ?? 'MissingResult';
        if (RETRYABLE_ENTRY_CODES.has(code) && attempt < this.maxAttempts) {
          retry.push(entry);
          return;
        }
        outcome.failed++;
        note(`${describeEntry(entry)}: ${code}: ${result?.ErrorMessage ?? 'no result entry'}`);
      });
      if (retry.length > 0) await this.sleep(this.baseDelayMs * 2 ** (attempt - 1));
      pending = retry;
    }
  }
}
