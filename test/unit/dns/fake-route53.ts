/**
 * A small stateful Route 53 behind aws-sdk-client-mock: hosted zones with TXT record sets,
 * listed in Route 53's order and paged, and change batches that behave as AWS documents them:
 * - all-or-nothing ("Route 53 validates the changes in the request and then either makes all or
 *   none of the changes",
 *   https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html);
 * - a DELETE must give the set's exact values and TTL, a CREATE fails if the set exists, an
 *   UPSERT creates or replaces (https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html),
 *   each refusal an `InvalidChangeBatch`;
 * - at most 1,000 ResourceRecord elements and 32,000 Value characters per request, an UPSERT's
 *   counted twice (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html).
 * The rejection texts follow the ones Route 53 is seen to send ("Tried to create resource
 * record set [...] but it already exists", "Number of records limit of 1000 exceeded.").
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  InvalidChangeBatch,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  NoSuchHostedZone,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { route53SortKey } from '../../../lambda/dns/record-sets.js';

export interface FakeZone {
  id: string;
  name: string;
  private?: boolean;
  nameServers?: string[];
}

export type Route53Mock = AwsClientStub<Route53Client>;

const key = (name: string) => route53SortKey(name);

/** Zones and their record sets; `install` wires the handlers into a reset mock. */
export class FakeRoute53 {
  readonly sets = new Map<string, ResourceRecordSet[]>();
  /** GetChange answers PENDING this many times before INSYNC. */
  pendingPolls = 0;
  pageSize = 300;
  /**
   * Runs before a change batch is applied (to simulate a concurrent writer, fail it, or hold
   * it while other calls proceed).
   */
  beforeChange?: (input: ChangeInput) => void | Promise<void>;
  /** Every batch applied, with its cost counted here (independently of the solver's count). */
  readonly accepted: Array<{ zoneId: string; records: number; chars: number; names: string[] }> =
    [];
  /** Change requests being handled right now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** ListResourceRecordSets calls served. */
  lists = 0;
  private changes = 0;

  constructor(readonly zones: FakeZone[] = []) {
    for (const zone of zones) this.sets.set(zone.id, []);
  }

  /** Puts a TXT set as another party would have (values unquoted here, quoted in the set). */
  putTxt(zoneId: string, name: string, values: string[], ttl = 300): ResourceRecordSet {
    const set: ResourceRecordSet = {
      Name: `${name}.`,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: values.map((v) => ({ Value: `"${v}"` })),
    };
    this.zoneSets(zoneId).push(set);
    return set;
  }

  txtValues(zoneId: string, name: string): string[] | undefined {
    const set = this.find(zoneId, name);
    return set?.ResourceRecords?.map((r) => (r.Value ?? '').replace(/"/g, ''));
  }

  find(zoneId: string, name: string): ResourceRecordSet | undefined {
    const wanted = name.replace(/\.$/, '');
    return this.zoneSets(zoneId).find(
      (s) => s.Type === 'TXT' && s.Name?.replace(/\.$/, '') === wanted,
    );
  }

  install(mock: Route53Mock): void {
    mock.on(ListHostedZonesByNameCommand).callsFake(() => ({
      HostedZones: this.zones.map((z) => ({
        Id: `/hostedzone/${z.id}`,
        Name: `${z.name}.`,
        CallerReference: z.id,
        Config: { PrivateZone: z.private ?? false },
      })),
      IsTruncated: false,
    }));
    mock.on(GetHostedZoneCommand).callsFake((input: { Id: string }) => {
      const zone = this.zones.find((z) => z.id === input.Id);
      if (!zone)
        throw new NoSuchHostedZone({ message: `No hosted zone ${input.Id}`, $metadata: {} });
      return {
        HostedZone: {
          Id: `/hostedzone/${zone.id}`,
          Name: `${zone.name}.`,
          CallerReference: zone.id,
          Config: { PrivateZone: zone.private ?? false },
        },
        DelegationSet: { NameServers: zone.nameServers ?? [] },
      };
    });
    mock.on(ListResourceRecordSetsCommand).callsFake((input) => this.list(input));
    mock.on(ChangeResourceRecordSetsCommand).callsFake((input) => this.change(input));
    let polls = 0;
    mock.on(GetChangeCommand).callsFake((input: { Id: string }) => {
      polls++;
      return {
        ChangeInfo: {
          Id: `/change/${input.Id}`,
          Status: polls > this.pendingPolls ? 'INSYNC' : 'PENDING',
          SubmittedAt: new Date(0),
        },
      };
    });
  }

  private zoneSets(zoneId: string): ResourceRecordSet[] {
    const sets = this.sets.get(zoneId);
    if (!sets) throw new NoSuchHostedZone({ message: `No hosted zone ${zoneId}`, $metadata: {} });
    return sets;
  }

  private list(input: { HostedZoneId: string; StartRecordName?: string }) {
    this.lists++;
    const sorted = [...this.zoneSets(input.HostedZoneId)].sort((a, b) =>
      key(a.Name ?? '') < key(b.Name ?? '') ? -1 : 1,
    );
    const start = input.StartRecordName ? key(input.StartRecordName) : '';
    const from = sorted.filter((s) => key(s.Name ?? '') >= start);
    const page = from.slice(0, this.pageSize);
    const next = from[this.pageSize];
    return {
      ResourceRecordSets: structuredClone(page),
      IsTruncated: next !== undefined,
      NextRecordName: next?.Name,
      NextRecordType: next?.Type,
      MaxItems: this.pageSize,
    };
  }

  private async change(input: ChangeInput) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.beforeChange?.(input);
      return this.apply(input);
    } finally {
      this.inFlight--;
    }
  }

  private apply(input: ChangeInput) {
    const changes = input.ChangeBatch.Changes;
    let records = 0;
    let chars = 0;
    for (const { Action, ResourceRecordSet: rs } of changes) {
      const weight = Action === 'UPSERT' ? 2 : 1;
      for (const r of rs.ResourceRecords ?? []) {
        records += weight;
        chars += weight * (r.Value ?? '').length;
      }
    }
    if (records > 1000) rejected('Number of records limit of 1000 exceeded.');
    if (chars > 32000) rejected('Number of characters limit of 32000 exceeded.');
    const sets = structuredClone(this.zoneSets(input.HostedZoneId));
    const describe = (rs: ResourceRecordSet) => `[name='${dotted(rs.Name)}', type='${rs.Type}']`;
    for (const { Action, ResourceRecordSet: rs } of changes) {
      const i = sets.findIndex((s) => plain(s.Name) === plain(rs.Name) && s.Type === rs.Type);
      const current = sets[i];
      if (Action === 'DELETE') {
        if (current === undefined) {
          rejected(`Tried to delete resource record set ${describe(rs)} but it was not found`);
        }
        const values = (set: ResourceRecordSet) =>
          JSON.stringify((set.ResourceRecords ?? []).map((r) => r.Value).sort());
        if (current.TTL !== rs.TTL || values(current) !== values(rs)) {
          rejected(
            `Tried to delete resource record set ${describe(rs)} but the values provided do not match the current values`,
          );
        }
        sets.splice(i, 1);
      } else if (Action === 'CREATE' && current !== undefined) {
        rejected(`Tried to create resource record set ${describe(rs)} but it already exists`);
      } else if (current !== undefined) {
        sets[i] = { ...structuredClone(rs), Name: current.Name };
      } else {
        sets.push({ ...structuredClone(rs), Name: dotted(rs.Name) });
      }
    }
    this.sets.set(input.HostedZoneId, sets);
    this.changes++;
    this.accepted.push({
      zoneId: input.HostedZoneId,
      records,
      chars,
      names: [...new Set(changes.map((c) => plain(c.ResourceRecordSet.Name)))],
    });
    return {
      ChangeInfo: { Id: `/change/C${this.changes}`, Status: 'PENDING', SubmittedAt: new Date(0) },
    };
  }
}

/** The input of a change batch as the mock receives it. */
export interface ChangeInput {
  HostedZoneId: string;
  ChangeBatch: { Changes: { Action: string; ResourceRecordSet: ResourceRecordSet }[] };
}

function rejected(message: string): never {
  throw new InvalidChangeBatch({ message: `[${message}]`, $metadata: {} });
}

/** A record name compared the way DNS does: case-insensitive, `\052` is `*`, no final dot. */
function plain(name: string | undefined): string {
  return (name ?? '').replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();
}

function dotted(name: string | undefined): string {
  return `${(name ?? '').replace(/\.$/, '')}.`;
}

/** A clock that only moves when the code under test sleeps. */
export function fakeTime() {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
  };
}
