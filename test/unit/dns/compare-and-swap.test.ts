import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DnsChangeError } from '../../../lambda/dns/errors.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);
const NAME = '_acme-challenge.example.com';
const ours = (value: string, name = NAME) => ({ zoneId: 'ZCOM', name, value });

function solverOn(time = fakeTime()) {
  return new Route53Dns01Solver({
    route53: new Route53Client({ region: 'us-east-1' }),
    pollIntervalMs: 1,
    sleep: time.sleep,
    now: time.now,
    random: () => 0.5,
  });
}

function setup() {
  r53.reset();
  const fake = new FakeRoute53([{ id: 'ZCOM', name: 'example.com' }]);
  fake.install(r53);
  const time = fakeTime();
  return { fake, time, solver: solverOn(time) };
}

/** Resolves once `ready()` holds, checking between other pending work. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve));
}

describe('compare-and-swap TXT changes', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('keeps a value another client creates at a new name between our read and our write', async () => {
    // Prepare: the name is empty when read; another ACME client creates it before our write
    const { solver, fake } = setup();
    let raced = false;
    fake.beforeChange = () => {
      if (raced) return;
      raced = true;
      fake.putTxt('ZCOM', NAME, ['other-client'], 300);
    };

    // Act
    const failures = await solver.present([ours('mine')]);

    // Assess: our CREATE was refused, the re-read found their set, the retry kept it
    expect(failures).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['other-client', 'mine']);
    expect(fake.find('ZCOM', NAME)?.TTL).toBe(300);
    expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(2);
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(2);
  });

  it('keeps a value another writer adds to an existing set between our read and our write', async () => {
    // Prepare
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['old'], 60);
    let raced = false;
    fake.beforeChange = () => {
      if (raced) return;
      raced = true;
      fake.sets.set('ZCOM', []);
      fake.putTxt('ZCOM', NAME, ['old', 'newcomer'], 60);
    };

    // Act
    const failures = await solver.present([ours('mine')]);

    // Assess
    expect(failures).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['old', 'newcomer', 'mine']);
  });

  it('loses neither value when two runs present at one name at the same time', async () => {
    // Prepare: two solver instances (two runs); neither writes before both have read
    const { fake } = setup();
    const first = solverOn();
    const second = solverOn();
    fake.beforeChange = () => until(() => fake.lists >= 2);

    // Act
    const [a, b] = await Promise.all([
      first.present([ours('run-a')]),
      second.present([ours('run-b')]),
    ]);

    // Assess
    expect([...(a ?? []), ...(b ?? [])]).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)?.sort()).toEqual(['run-a', 'run-b']);
  });

  it('cleans up without dropping a value another run adds at the same time', async () => {
    // Prepare: our two values and one of another run; they add a fourth before our write
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['mine-a', 'mine-b', 'theirs'], 60);
    let raced = false;
    fake.beforeChange = () => {
      if (raced) return;
      raced = true;
      fake.sets.set('ZCOM', []);
      fake.putTxt('ZCOM', NAME, ['mine-a', 'mine-b', 'theirs', 'theirs-too'], 60);
    };

    // Act
    const failures = await solver.cleanup([ours('mine-a'), ours('mine-b')]);

    // Assess
    expect(failures).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['theirs', 'theirs-too']);
  });

  it('counts values someone else removed meanwhile as cleaned up', async () => {
    // Prepare: between our read and our write, the set disappears
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['mine'], 60);
    fake.beforeChange = () => {
      fake.sets.set('ZCOM', []);
    };

    // Act
    const failures = await solver.cleanup([ours('mine')]);

    // Assess: the DELETE was refused (not found), the re-read shows nothing left to do
    expect(failures).toEqual([]);
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(2);
  });

  it('gives up after 5 attempts with jittered pauses, never dropping the other value', async () => {
    // Prepare: another writer changes the set before every one of our writes
    const { solver, fake, time } = setup();
    let round = 0;
    fake.beforeChange = () => {
      round++;
      fake.sets.set('ZCOM', []);
      fake.putTxt('ZCOM', NAME, [`busy-${round}`], 60);
    };

    // Act
    const failures = await solver.present([ours('mine')]);

    // Assess
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBeInstanceOf(DnsChangeError);
    expect(failures[0]?.error.message).toMatch(
      /^could not write TXT _acme-challenge\.example\.com in hosted zone ZCOM: Route 53 rejected the change 5 times as InvalidChangeBatch/,
    );
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(5);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['busy-5']);
    // random() = 0.5: half of each ceiling, 200 ms doubling
    expect(time.slept).toEqual([100, 200, 400, 800]);
  });

  it('re-reads and resends only the names of the request that conflicted', async () => {
    // Prepare: two names in one request; a writer adds a value at one of them
    const { solver, fake } = setup();
    const other = '_acme-challenge.www.example.com';
    let raced = false;
    fake.beforeChange = () => {
      if (raced) return;
      raced = true;
      fake.putTxt('ZCOM', other, ['theirs'], 60);
    };

    // Act
    const failures = await solver.present([ours('a'), ours('b', other)]);

    // Assess: the whole request was refused (atomic), so both names went again
    expect(failures).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['a']);
    expect(fake.txtValues('ZCOM', other)).toEqual(['theirs', 'b']);
    const retry = r53.commandCalls(ChangeResourceRecordSetsCommand)[1]?.args[0].input;
    expect(
      retry?.ChangeBatch?.Changes?.map((c) => `${c.Action} ${c.ResourceRecordSet?.Name}`).sort(),
    ).toEqual([`CREATE ${NAME}`, `CREATE ${other}.`, `DELETE ${other}.`]);
  });
});
