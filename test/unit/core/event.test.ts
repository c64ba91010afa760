import { describe, expect, it } from 'vitest';
import { InvalidEventError, parseEvent, selectNames } from '../../../lambda/core/event.js';

const SCHEDULED = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-10-08T16:53:06Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/acme-renewer-schedule'],
  detail: {},
};

describe('parseEvent', () => {
  it('turns the EventBridge scheduled event into a full, unforced run', () => {
    // Act
    const request = parseEvent(SCHEDULED);

    // Assess
    expect(request).toEqual({ force: false, dryRun: false, trigger: 'scheduled' });
    expect(request.names).toBeUndefined();
  });

  it.each([{}, undefined, null])('reconciles everything on a manual %j', (event) => {
    // Act
    const request = parseEvent(event);

    // Assess
    expect(request.names).toBeUndefined();
    expect(request.force).toBe(false);
    expect(request.dryRun).toBe(false);
    expect(request.trigger).toBe('manual');
  });

  it('takes force, dryRun and certificates', () => {
    // Act
    const request = parseEvent({ certificates: ['www', 'api'], force: true, dryRun: true });

    // Assess
    expect(request).toEqual({
      names: ['www', 'api'],
      force: true,
      dryRun: true,
      trigger: 'manual',
    });
  });

  it('takes force alone', () => {
    // Act
    const request = parseEvent({ force: true });

    // Assess
    expect(request.force).toBe(true);
    expect(request.dryRun).toBe(false);
  });

  it.each([
    [{ force: 'yes' }, /"force" must be true or false; got "yes"/],
    [{ dryRun: 1 }, /"dryRun" must be true or false; got 1/],
    [
      { certificates: 'www' },
      /"certificates" must be a non-empty list of certificate names; got "www"/,
    ],
    [{ certificates: [] }, /"certificates" must be a non-empty list/],
    [{ certificates: ['www', 7] }, /"certificates" must be .*got \["www",7\]/],
  ])('rejects bad types: %j', (event, message) => {
    // Act & Assess
    expect(() => parseEvent(event)).toThrow(InvalidEventError);
    expect(() => parseEvent(event)).toThrow(message);
  });

  it.each(['now', 42, ['www']])('rejects an event that is not an object: %j', (event) => {
    // Act & Assess
    expect(() => parseEvent(event)).toThrow(/expected an object such as \{\}/);
  });

  it('rejects an unknown key (a typo) and lists the allowed ones', () => {
    // Act
    let error: unknown;
    try {
      parseEvent({ certificate: ['www'], forced: true });
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).name).toBe('InvalidEventError');
    expect((error as Error).message).toContain('unknown field(s) "certificate", "forced"');
    expect((error as Error).message).toMatch(/allowed: "certificates" .*"force" .*"dryRun"/);
  });
});

describe('selectNames', () => {
  const configured = ['www', 'api', 'mail'];

  it('selects every configured certificate when no names are given', () => {
    // Act
    const names = selectNames({ force: false, dryRun: false, trigger: 'manual' }, configured);

    // Assess
    expect(names).toEqual(configured);
  });

  it('selects the named certificates once each', () => {
    // Act
    const names = selectNames(
      { names: ['api', 'www', 'api'], force: true, dryRun: false, trigger: 'manual' },
      configured,
    );

    // Assess
    expect(names).toEqual(['api', 'www']);
  });

  it('an unknown name is an error that names it and lists the configured names', () => {
    // Act & Assess
    expect(() =>
      selectNames(
        { names: ['www', 'wwww'], force: false, dryRun: false, trigger: 'manual' },
        configured,
      ),
    ).toThrow(
      new InvalidEventError(
        'unknown certificate name(s) "wwww"; configured certificates: "www", "api", "mail"',
      ),
    );
  });
});
