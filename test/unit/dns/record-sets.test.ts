import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  normalizeDnsName,
  parseTxt,
  quoteTxt,
  readTxtSets,
  route53SortKey,
} from '../../../lambda/dns/record-sets.js';
import { FakeRoute53 } from './fake-route53.js';

const r53 = mockClient(Route53Client);

describe('TXT value encoding', () => {
  it('quotes, escapes and splits long values into 255-character strings', () => {
    expect(quoteTxt('abc')).toBe('"abc"');
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"');
    const long = 'x'.repeat(300);
    expect(quoteTxt(long)).toBe(`"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
    expect(parseTxt(quoteTxt(long))).toBe(long);
  });

  it('parses quoted, multi-string, escaped and unquoted values', () => {
    expect(parseTxt('"abc"')).toBe('abc');
    expect(parseTxt('"ab" "cd"')).toBe('abcd');
    expect(parseTxt('"a\\"b"')).toBe('a"b');
    expect(parseTxt('"a\\101b"')).toBe('aAb');
    expect(parseTxt('plain')).toBe('plain');
  });

  it('normalizes names and sorts them the way Route 53 lists them', () => {
    expect(normalizeDnsName('\\052.Example.COM.')).toBe('*.example.com');
    expect(route53SortKey('_acme-challenge.www.example.com.')).toBe(
      'com.example.www._acme-challenge.',
    );
  });
});

describe('readTxtSets', () => {
  beforeEach(() => {
    r53.reset();
  });

  const list = (input: object) =>
    new Route53Client({ region: 'us-east-1' }).send(
      new ListResourceRecordSetsCommand(input as never),
    );

  it('starts at the first name and stops paging once past the last one', async () => {
    // Prepare: 40 sets, 5 per page; ours sort among the first ones
    const fake = new FakeRoute53([{ id: 'Z', name: 'example.com' }]);
    fake.pageSize = 5;
    for (let i = 10; i < 50; i++) fake.putTxt('Z', `host${i}.example.com`, [`v${i}`]);
    fake.putTxt('Z', '_acme-challenge.example.com', ['a']);
    fake.putTxt('Z', '_acme-challenge.host12.example.com', ['b', 'c']);
    fake.install(r53);

    // Act
    const sets = await readTxtSets(list, 'Z', [
      '_acme-challenge.example.com',
      '_acme-challenge.host12.example.com',
      '_acme-challenge.host13.example.com',
    ]);

    // Assess
    expect([...sets.keys()].sort()).toEqual([
      '_acme-challenge.example.com',
      '_acme-challenge.host12.example.com',
    ]);
    const calls = r53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input);
    expect(calls[0]?.StartRecordName).toBe('_acme-challenge.example.com');
    expect(calls.length).toBeLessThan(4);
  });

  it('reads to the end when pages come back out of order', async () => {
    // Prepare: a listing that ignores Route 53 order (the wanted set is on the last page)
    r53
      .on(ListResourceRecordSetsCommand, { StartRecordName: '_acme-challenge.a.example.com' })
      .resolves({
        ResourceRecordSets: [
          { Name: 'z.example.com.', Type: 'A', TTL: 1, ResourceRecords: [{ Value: '192.0.2.1' }] },
          { Name: 'b.example.com.', Type: 'A', TTL: 1, ResourceRecords: [{ Value: '192.0.2.1' }] },
        ],
        IsTruncated: true,
        NextRecordName: 'c.example.com.',
        MaxItems: 2,
      })
      .on(ListResourceRecordSetsCommand, { StartRecordName: 'c.example.com.' })
      .resolves({
        ResourceRecordSets: [
          {
            Name: '_acme-challenge.a.example.com.',
            Type: 'TXT',
            TTL: 1,
            ResourceRecords: [{ Value: '"x"' }],
          },
        ],
        IsTruncated: false,
        MaxItems: 2,
      });

    // Act
    const sets = await readTxtSets(list, 'Z', ['_acme-challenge.a.example.com']);

    // Assess
    expect(sets.get('_acme-challenge.a.example.com')?.ResourceRecords).toEqual([{ Value: '"x"' }]);
  });
});
