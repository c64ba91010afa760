/**
 * EventBridge over JSON 1.1 (`X-Amz-Target: AWSEvents.<Op>`): event buses per region and every
 * event PutEvents accepted, kept so tests can read what the function published.
 */
import { ApiError, decodeToken, encodeToken, randomUUID } from './protocol.js';

/**
 * Entries per PutEvents request. "Entries ... Array Members: Minimum number of 1 item. Maximum
 * number of 10 items." (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html)
 */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Total entry size of one PutEvents request, in bytes. The API reference and "Calculating
 * PutEvents event entry size" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html)
 * still say "the total entry size must be less than 256KB"; on 2026-01-29 AWS raised the
 * EventBridge payload limit to 1 MB ("More room to build: serverless services now support
 * payloads up to 1 MB", https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb).
 * The emulator takes the newer figure; {@link EventBridgeStore.maxRequestBytes} sets the old one.
 */
export const PUT_EVENTS_MAX_REQUEST_BYTES = 1024 * 1024;

/** The older documented limit (256 KB), for tests that want the stricter one. */
export const PUT_EVENTS_LEGACY_MAX_REQUEST_BYTES = 256 * 1024;

/** One event PutEvents accepted. */
export interface StoredEvent {
  id: string;
  /** Bus name (never the ARN). */
  bus: string;
  region: string;
  /** The entry's `Time`, else the time PutEvents received it. */
  time: Date;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
}

/** A filter for {@link EventBridgeStore.events}; every given field must match. */
export interface EventFilter {
  bus?: string;
  region?: string;
  source?: string;
  detailType?: string;
}

interface EventBus {
  name: string;
  arn: string;
  region: string;
  createdAt: Date;
}

type Input = Record<string, unknown>;

/**
 * CreateEventBus's `Name`: "Length Constraints: Minimum length of 1. Maximum length of 256.
 * Pattern: [/\.\-_A-Za-z0-9]+"; "Custom event bus names can't contain the / character" and
 * "You can't use the name default for a custom event bus"
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html).
 */
const CUSTOM_BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;
const BUS_ARN = /^arn:aws[\w-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/(.+)$/;

/**
 * Per-entry error codes of PutEventsResultEntry
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html):
 * `InternalFailure` and `ThrottlingException` are the retryable ones.
 */
export type EntryErrorCode =
  | 'InternalFailure'
  | 'ThrottlingException'
  | 'AccessDeniedException'
  | 'InvalidArgument'
  | 'MalformedDetail'
  | 'ResourceNotFoundException';

const ENTRY_ERROR_MESSAGES: Record<string, string> = {
  InternalFailure: 'The request processing has failed because of an unknown error.',
  ThrottlingException: 'The request was denied due to request throttling.',
};

/** Event buses and accepted events of one account, all regions. */
export class EventBridgeStore {
  /** Key: `<region>/<name>`. The `default` bus of a region is created when first touched. */
  readonly buses = new Map<string, EventBus>();
  readonly accepted: StoredEvent[] = [];
  /** See {@link PUT_EVENTS_MAX_REQUEST_BYTES}. */
  maxRequestBytes = PUT_EVENTS_MAX_REQUEST_BYTES;
  /** Queued per-entry failures: the next entries that would be accepted fail with these codes. */
  private entryFaults: EntryErrorCode[] = [];

  constructor(readonly accountId: string) {}

  private arnOf(region: string, name: string): string {
    return `arn:aws:events:${region}:${this.accountId}:event-bus/${name}`;
  }

  /**
   * The name `default` "is already used for your account's default event bus" (CreateEventBus,
   * above): every account has it in every region, so it is made on first use.
   */
  private ensureDefault(region: string): void {
    const key = `${region}/default`;
    if (!this.buses.has(key)) {
      this.buses.set(key, {
        name: 'default',
        arn: this.arnOf(region, 'default'),
        region,
        createdAt: new Date(),
      });
    }
  }

  /** Creates a custom bus; throws CreateEventBus's errors. */
  createBus(name: string, region: string): EventBus {
    if (name === 'default') {
      throw new ApiError(
        'ValidationException',
        "You can't use the name default for a custom event bus: it is the account's default event bus.",
      );
    }
    if (!CUSTOM_BUS_NAME.test(name)) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 256`,
      );
    }
    const key = `${region}/${name}`;
    if (this.buses.has(key)) {
      throw new ApiError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    }
    const bus = { name, arn: this.arnOf(region, name), region, createdAt: new Date() };
    this.buses.set(key, bus);
    return bus;
  }

  /**
   * The bus a name or ARN refers to (`EventBusName`: "The name or ARN of the event bus";
   * unset means the default bus), or `undefined` when there is none.
   */
  resolve(nameOrArn: unknown, region: string): EventBus | undefined {
    this.ensureDefault(region);
    if (nameOrArn === undefined || nameOrArn === null || nameOrArn === '') {
      return this.buses.get(`${region}/default`);
    }
    if (typeof nameOrArn !== 'string') return undefined;
    const arn = BUS_ARN.exec(nameOrArn);
    if (arn) {
      const [, arnRegion = '', account, name = ''] = arn;
      if (account !== this.accountId) return undefined;
      this.ensureDefault(arnRegion);
      return this.buses.get(`${arnRegion}/${name}`);
    }
    return this.buses.get(`${region}/${nameOrArn}`);
  }

  /** The next `count` entries that would be accepted fail with `code` instead. */
  failNextEntries(count: number, code: EntryErrorCode = 'InternalFailure'): void {
    for (let i = 0; i < count; i++) this.entryFaults.push(code);
  }

  /** Consumes one queued per-entry failure, if any. */
  takeEntryFault(): EntryErrorCode | undefined {
    return this.entryFaults.shift();
  }

  clearEntryFaults(): void {
    this.entryFaults = [];
  }

  /** Accepted events, oldest first, optionally filtered (copies). */
  events(filter: EventFilter = {}): StoredEvent[] {
    return this.accepted
      .filter(
        (e) =>
          (filter.bus === undefined || e.bus === filter.bus) &&
          (filter.region === undefined || e.region === filter.region) &&
          (filter.source === undefined || e.source === filter.source) &&
          (filter.detailType === undefined || e.detailType === filter.detailType),
      )
      .map((e) => ({ ...e, detail: structuredClone(e.detail), resources: [...e.resources] }));
  }

  /** Empties the accepted events (buses stay). */
  clearEvents(): void {
    this.accepted.length = 0;
  }

  busNames(region: string): string[] {
    this.ensureDefault(region);
    return [...this.buses.values()]
      .filter((b) => b.region === region)
      .map((b) => b.name)
      .sort();
  }
}

function utf8Bytes(value: unknown): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
}

/**
 * Entry size as "Calculating PutEvents event entry size" defines it: Time 14 bytes when given,
 * Source, DetailType, Detail and each Resources entry by their UTF-8 bytes.
 */
export function entrySize(entry: Input): number {
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  size += utf8Bytes(entry.Source) + utf8Bytes(entry.DetailType) + utf8Bytes(entry.Detail);
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources) size += utf8Bytes(resource);
  }
  return size;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * One entry's checks. Source, DetailType and Detail are each required per entry, answered as a
 * failed entry (`InvalidArgument`), not a failed request; a Detail that is not a JSON object is
 * `MalformedDetail` ("The JSON provided is not valid"; PutEventsResultEntry's error list).
 */
function checkEntry(entry: Input): { ErrorCode: string; ErrorMessage: string } | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[field];
    if (typeof value !== 'string' || value === '') {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail as string);
    if (typeof detail === 'object' && detail !== null && !Array.isArray(detail)) return undefined;
  } catch {
    // answered below
  }
  return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
}

function entryTime(value: unknown, received: Date): Date {
  // The SDK sends Time as epoch seconds (awsJson1_1 timestamps).
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  return received;
}

function putEvents(store: EventBridgeStore, input: Input, region: string) {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ApiError(
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (entries.length > PUT_EVENTS_MAX_ENTRIES) {
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`,
    );
  }
  const total = entries.reduce<number>((sum, e) => sum + entrySize((e ?? {}) as Input), 0);
  if (total > store.maxRequestBytes) {
    // AWS documents the limit, not the error; a whole-request ValidationException is what the
    // API reference lists for a request that breaks a constraint.
    throw new ApiError(
      'ValidationException',
      `Total size of the entries in the request is over the limit (${total} > ${store.maxRequestBytes} bytes).`,
    );
  }
  const received = new Date();
  const results: EntryResult[] = [];
  for (const raw of entries) {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Input;
    const invalid = checkEntry(entry);
    if (invalid) {
      results.push(invalid);
      continue;
    }
    const bus = store.resolve(entry.EventBusName, region);
    if (!bus) {
      // Reports (https://github.com/aws/aws-cli/issues/9186) say AWS has answered success for
      // an unknown bus and dropped the event; AWS said in 2024 this was corrected
      // (https://github.com/aws/aws-sdk/issues/186). The emulator fails the entry, so a wrong
      // bus name shows in tests instead of vanishing.
      results.push({
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: `Event bus ${String(entry.EventBusName)} does not exist.`,
      });
      continue;
    }
    const fault = store.takeEntryFault();
    if (fault) {
      results.push({ ErrorCode: fault, ErrorMessage: ENTRY_ERROR_MESSAGES[fault] ?? fault });
      continue;
    }
    const id = randomUUID();
    store.accepted.push({
      id,
      bus: bus.name,
      region: bus.region,
      time: entryTime(entry.Time, received),
      source: entry.Source as string,
      detailType: entry.DetailType as string,
      detail: JSON.parse(entry.Detail as string) as Record<string, unknown>,
      resources: Array.isArray(entry.Resources)
        ? entry.Resources.filter((r): r is string => typeof r === 'string')
        : [],
    });
    results.push({ EventId: id });
  }
  // "The response Entries array always includes the same number of entries as the request
  // array", in request order (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html).
  return {
    FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
    Entries: results,
  };
}

function describe(bus: EventBus) {
  return { Name: bus.name, Arn: bus.arn, CreationTime: bus.createdAt.getTime() / 1000 };
}

/** Runs one EventBridge operation; throws {@link ApiError} in the service's terms. */
export function handleEventBridge(
  store: EventBridgeStore,
  operation: string,
  input: Input,
  region: string,
): unknown {
  switch (operation) {
    case 'PutEvents':
      return putEvents(store, input, region);
    case 'CreateEventBus': {
      if (typeof input.Name !== 'string') {
        throw new ApiError('ValidationException', "Value null at 'name' must not be null");
      }
      return { EventBusArn: store.createBus(input.Name, region).arn };
    }
    case 'DescribeEventBus': {
      const bus = store.resolve(input.Name, region);
      if (!bus) {
        throw new ApiError(
          'ResourceNotFoundException',
          `Event bus ${String(input.Name)} does not exist.`,
        );
      }
      return describe(bus);
    }
    case 'ListEventBuses': {
      const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
      const names = store.busNames(region).filter((n) => n.startsWith(prefix));
      const start = decodeToken(input.NextToken as string | undefined, 'ValidationException');
      const limit = typeof input.Limit === 'number' && input.Limit > 0 ? input.Limit : 100;
      const page = names.slice(start, start + limit);
      return {
        EventBuses: page.map((name) => {
          const bus = store.resolve(name, region);
          return bus && describe(bus);
        }),
        NextToken: start + limit < names.length ? encodeToken(start + limit) : undefined,
      };
    }
    default:
      throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported.`);
  }
}
