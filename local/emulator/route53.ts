/**
 * Route 53 over REST-XML: routes `/2013-04-01/...` requests to operations and
 * renders the answers the SDK's AwsRestXmlProtocol expects.
 */
import { XMLParser } from 'fast-xml-parser';
import { ApiError, type XmlValue, xmlDocument } from './protocol.js';
import {
  type Change,
  compareNames,
  compareRecordSets,
  type HostedZone,
  normalizeName,
  type RecordSet,
  type Route53Store,
} from './route53-zones.js';
import type { CallerIdentity } from './sts.js';

/** Namespace of every Route 53 document. */
export const ROUTE53_NAMESPACE = 'https://route53.amazonaws.com/doc/2013-04-01/';

/** A routed Route 53 request: the operation and the id taken from the path. */
export interface Route53Route {
  operation: string;
  id?: string;
}

/** Maps method and path to an operation; `undefined` for anything else. */
export function route53Route(method: string, path: string): Route53Route | undefined {
  const rest = path.replace(/^\/2013-04-01\//, '').replace(/\/$/, '');
  const parts = rest.split('/').map((p) => decodeURIComponent(p));
  const [first, id, sub] = parts;
  if (method === 'GET' && rest === 'hostedzonesbyname')
    return { operation: 'ListHostedZonesByName' };
  if (method === 'GET' && rest === 'hostedzone') return { operation: 'ListHostedZones' };
  if (first === 'hostedzone' && id && parts.length === 2 && method === 'GET') {
    return { operation: 'GetHostedZone', id };
  }
  if (first === 'hostedzone' && id && sub === 'rrset' && parts.length === 3) {
    if (method === 'POST') return { operation: 'ChangeResourceRecordSets', id };
    if (method === 'GET') return { operation: 'ListResourceRecordSets', id };
  }
  if (first === 'change' && id && parts.length === 2 && method === 'GET') {
    return { operation: 'GetChange', id };
  }
  return undefined;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Values stay strings: a TXT value such as "1e5" must not become a number.
  parseTagValue: false,
  isArray: (name) => name === 'Change' || name === 'ResourceRecord',
});

function zoneXml(zone: HostedZone): XmlValue {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { PrivateZone: zone.private },
    ResourceRecordSetCount: zone.records.length,
  };
}

function recordSetXml(set: RecordSet): XmlValue {
  return {
    Name: set.name,
    Type: set.type,
    TTL: set.ttl,
    ResourceRecords: { ResourceRecord: set.values.map((Value) => ({ Value })) },
  };
}

function maxItems(query: URLSearchParams, fallback: number): number {
  const raw = query.get('maxitems');
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new ApiError('InvalidInput', `Invalid value for parameter maxitems: ${raw}`);
  }
  return Math.min(value, fallback);
}

type Obj = Record<string, unknown>;

function asObject(value: unknown): Obj {
  return typeof value === 'object' && value !== null ? (value as Obj) : {};
}

/** Decodes the ChangeBatch of a ChangeResourceRecordSets body. */
function parseChangeBatch(body: string): { changes: Change[]; comment?: string } {
  let doc: Obj;
  try {
    doc = asObject(parser.parse(body));
  } catch {
    throw new ApiError('InvalidInput', 'The XML document is malformed');
  }
  const batch = asObject(asObject(doc.ChangeResourceRecordSetsRequest).ChangeBatch);
  const rawChanges = asObject(batch.Changes).Change;
  const changes = (Array.isArray(rawChanges) ? rawChanges : []).map((raw): Change => {
    const change = asObject(raw);
    const set = asObject(change.ResourceRecordSet);
    if (set.AliasTarget !== undefined || set.SetIdentifier !== undefined) {
      throw new ApiError('InvalidInput', 'The emulator supports plain record sets only');
    }
    const records = asObject(set.ResourceRecords).ResourceRecord;
    const values = (Array.isArray(records) ? records : []).map((r) =>
      String(asObject(r).Value ?? ''),
    );
    const ttl = Number(set.TTL);
    if (typeof set.Name !== 'string' || typeof set.Type !== 'string') {
      throw new ApiError('InvalidInput', 'Name and Type are required');
    }
    if (set.TTL === undefined || !Number.isInteger(ttl) || ttl < 0) {
      throw new ApiError('InvalidInput', `Invalid TTL for ${set.Name}`);
    }
    if (values.length === 0) {
      throw new ApiError('InvalidChangeBatch', `Empty ResourceRecords for ${set.Name} ${set.Type}`);
    }
    return {
      action: String(change.Action ?? ''),
      set: { name: normalizeName(set.Name), type: set.Type.toUpperCase(), ttl, values },
    };
  });
  const comment = typeof batch.Comment === 'string' ? batch.Comment : undefined;
  return comment === undefined ? { changes } : { changes, comment };
}

function listHostedZonesByName(
  store: Route53Store,
  query: URLSearchParams,
  caller: CallerIdentity,
): string {
  const dnsName = query.get('dnsname');
  const zoneId = query.get('hostedzoneid');
  if (zoneId !== null && dnsName === null) {
    throw new ApiError('InvalidInput', 'hostedzoneid requires dnsname');
  }
  const limit = maxItems(query, 100);
  let zones = store.sortedZones(caller.account);
  if (dnsName !== null) {
    const name = normalizeName(dnsName);
    zones = zones.filter((z) => {
      const order = compareNames(z.name, name);
      return order > 0 || (order === 0 && (zoneId === null || z.id >= zoneId));
    });
  }
  const page = zones.slice(0, limit);
  const next = zones[limit];
  return xmlDocument('ListHostedZonesByNameResponse', ROUTE53_NAMESPACE, {
    HostedZones: { HostedZone: page.map(zoneXml) },
    DNSName: dnsName ?? undefined,
    HostedZoneId: zoneId ?? undefined,
    IsTruncated: next !== undefined,
    NextDNSName: next?.name,
    NextHostedZoneId: next?.id,
    MaxItems: limit,
  });
}

function listHostedZones(
  store: Route53Store,
  query: URLSearchParams,
  caller: CallerIdentity,
): string {
  const limit = maxItems(query, 100);
  const zones = store.sortedZones(caller.account);
  const marker = query.get('marker');
  const start = marker === null ? 0 : zones.findIndex((z) => z.id === marker);
  if (start < 0) throw new ApiError('InvalidInput', `Invalid marker: ${marker}`);
  const page = zones.slice(start, start + limit);
  const next = zones[start + limit];
  return xmlDocument('ListHostedZonesResponse', ROUTE53_NAMESPACE, {
    HostedZones: { HostedZone: page.map(zoneXml) },
    Marker: marker ?? undefined,
    IsTruncated: next !== undefined,
    NextMarker: next?.id,
    MaxItems: limit,
  });
}

function getHostedZone(store: Route53Store, id: string, caller: CallerIdentity): string {
  const zone = store.ownedZone(id, caller);
  return xmlDocument('GetHostedZoneResponse', ROUTE53_NAMESPACE, {
    HostedZone: zoneXml(zone),
    // AWS answers VPCs instead of a delegation set for a private zone.
    DelegationSet: zone.private ? undefined : { NameServers: { NameServer: zone.nameServers } },
    VPCs: zone.private ? { VPC: [{ VPCRegion: 'us-east-1', VPCId: 'vpc-0emulator' }] } : undefined,
  });
}

function listResourceRecordSets(
  store: Route53Store,
  id: string,
  query: URLSearchParams,
  caller: CallerIdentity,
): string {
  const zone = store.ownedZone(id, caller);
  const name = query.get('name');
  const type = query.get('type');
  if (type !== null && name === null) throw new ApiError('InvalidInput', 'type requires name');
  const limit = maxItems(query, 300);
  let records = zone.records;
  if (name !== null) {
    const start = { name: normalizeName(name), type: type ?? '' };
    records = records.filter((r) => compareRecordSets(r, start) >= 0);
  }
  const page = records.slice(0, limit);
  const next = records[limit];
  return xmlDocument('ListResourceRecordSetsResponse', ROUTE53_NAMESPACE, {
    ResourceRecordSets: { ResourceRecordSet: page.map(recordSetXml) },
    IsTruncated: next !== undefined,
    NextRecordName: next?.name,
    NextRecordType: next?.type,
    MaxItems: limit,
  });
}

function changeInfoXml(id: string, status: string, submittedAt: Date, comment?: string): XmlValue {
  return { Id: `/change/${id}`, Status: status, SubmittedAt: submittedAt, Comment: comment };
}

/**
 * Runs one routed Route 53 request and returns the XML answer. `caller` is who signed it: the
 * List operations show only its account's zones, and the others refuse another account's zone.
 */
export function handleRoute53(
  store: Route53Store,
  route: Route53Route,
  query: URLSearchParams,
  body: string,
  caller: CallerIdentity,
): string {
  const id = route.id ?? '';
  switch (route.operation) {
    case 'ListHostedZonesByName':
      return listHostedZonesByName(store, query, caller);
    case 'ListHostedZones':
      return listHostedZones(store, query, caller);
    case 'GetHostedZone':
      return getHostedZone(store, id, caller);
    case 'ListResourceRecordSets':
      return listResourceRecordSets(store, id, query, caller);
    case 'ChangeResourceRecordSets': {
      store.ownedZone(id, caller);
      const batch = parseChangeBatch(body);
      const info = store.applyChanges(id, batch.changes, batch.comment);
      return xmlDocument('ChangeResourceRecordSetsResponse', ROUTE53_NAMESPACE, {
        ChangeInfo: changeInfoXml(info.id, 'PENDING', info.submittedAt, info.comment),
      });
    }
    case 'GetChange': {
      const { info, status } = store.pollChange(id, caller);
      return xmlDocument('GetChangeResponse', ROUTE53_NAMESPACE, {
        ChangeInfo: changeInfoXml(info.id, status, info.submittedAt, info.comment),
      });
    }
    default:
      throw new ApiError('InvalidAction', `Unsupported operation ${route.operation}`);
  }
}
