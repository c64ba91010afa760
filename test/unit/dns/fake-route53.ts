/**
 * A small stateful Route 53 behind aws-sdk-client-mock: hosted zones with TXT record sets,
 * listed in Route 53's order and paged, and change batches that are all-or-nothing and reject a
 * DELETE that does not match the set exactly, like the real service.
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
  /** Runs before a change batch is applied (to simulate a concurrent writer or fail it). */
  beforeChange?: (input: { HostedZoneId: string }) => void;
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

  private change(input: {
    HostedZoneId: string;
    ChangeBatch: { Changes: { Action: string; ResourceRecordSet: ResourceRecordSet }[] };
  }) {
    this.beforeChange?.(input);
    const sets = structuredClone(this.zoneSets(input.HostedZoneId));
    const same = (a?: string, b?: string) => a?.replace(/\.$/, '') === b?.replace(/\.$/, '');
    for (const { Action, ResourceRecordSet: rs } of input.ChangeBatch.Changes) {
      const i = sets.findIndex((s) => same(s.Name, rs.Name) && s.Type === rs.Type);
      if (Action === 'DELETE') {
        const current = sets[i];
        const exact =
          current !== undefined &&
          current.TTL === rs.TTL &&
          JSON.stringify(current.ResourceRecords) === JSON.stringify(rs.ResourceRecords);
        if (!exact) {
          throw new InvalidChangeBatch({
            message: `Tried to delete resource record set [name='${rs.Name}', type='${rs.Type}'] but the values provided do not match the current values`,
            $metadata: {},
          });
        }
        sets.splice(i, 1);
      } else if (i >= 0) {
        sets[i] = { ...structuredClone(rs), Name: sets[i]?.Name };
      } else {
        sets.push({ ...structuredClone(rs), Name: `${rs.Name?.replace(/\.$/, '')}.` });
      }
    }
    this.sets.set(input.HostedZoneId, sets);
    this.changes++;
    return {
      ChangeInfo: { Id: `/change/C${this.changes}`, Status: 'PENDING', SubmittedAt: new Date(0) },
    };
  }
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
