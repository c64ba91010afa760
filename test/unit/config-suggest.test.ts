import { describe, expect, it } from 'vitest';
import { z as classic } from 'zod';
import { DeploymentSchema, parseDeployment } from '../../infra/context.js';
import { ConfigError, parseConfig, RenewerConfigSchema } from '../../lambda/config.js';
import {
  closestKey,
  editDistance,
  knownKeys,
  unknownKeysList,
} from '../../lambda/config-suggest.js';

const VALID = {
  certificates: [{ name: 'www', domains: ['example.com'], hostedZoneId: 'Z0123' }],
};

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('editDistance', () => {
  it.each([
    ['directoryurl', 'directoryurl', 0],
    ['keytpye', 'keytype', 1], // adjacent transposition counts once
    ['domain', 'domains', 1],
    ['emial', 'email', 1],
    ['abc', 'xyz', 3],
  ])('%s -> %s is %i', (a, b, expected) => {
    expect(editDistance(a, b)).toBe(expected);
  });

  it('stops at the limit, without comparing strings of very different lengths', () => {
    expect(editDistance('a'.repeat(1 << 20), 'a', 2)).toBe(3);
    expect(editDistance('abcdefgh', 'hgfedcba', 2)).toBe(3);
  });
});

describe('closestKey', () => {
  const acme = knownKeys(RenewerConfigSchema, ['acme']);

  it('matches a key that differs only by case', () => {
    expect(closestKey('directoryURL', acme)).toBe('directoryUrl');
  });

  it('matches within two edits', () => {
    expect(closestKey('emial', acme)).toBe('email');
    expect(closestKey('prefferedChain', acme)).toBe('preferredChain');
  });

  it('matches a prefix, preferring the candidate closest in length', () => {
    expect(closestKey('propagationTimeout', knownKeys(RenewerConfigSchema, ['dns']))).toBe(
      'propagationTimeoutSeconds',
    );
    expect(closestKey('scheduleInterval', knownKeys(DeploymentSchema, []))).toBe(
      'scheduleIntervalHours',
    );
  });

  it('suggests nothing for an unrelated, a very short or a huge key', () => {
    expect(closestKey('colour', acme)).toBeUndefined();
    expect(closestKey('x0', knownKeys(RenewerConfigSchema, []))).toBeUndefined();
    expect(closestKey('d'.repeat(1 << 20), ['domains'])).toBeUndefined();
  });
});

describe('knownKeys', () => {
  it('walks objects, defaults, arrays and records of a zod/mini schema', () => {
    expect(knownKeys(RenewerConfigSchema, [])).toEqual(
      expect.arrayContaining(['acme', 'renewal', 'dns', 'certificates', 'secretPrefix']),
    );
    expect(knownKeys(RenewerConfigSchema, ['certificates', 0])).toEqual(
      expect.arrayContaining(['name', 'domains', 'keyType', 'listeners']),
    );
    expect(knownKeys(RenewerConfigSchema, ['certificates', 3, 'listeners', 0])).toEqual(
      expect.arrayContaining(['arn', 'mode']),
    );
    expect(knownKeys(RenewerConfigSchema, ['dns', 'zoneRoles', 'example.com'])).toEqual(
      expect.arrayContaining(['roleArn', 'externalId']),
    );
  });

  it('reads classic zod schemas too, through optional and default wrappers', () => {
    const schema = classic.strictObject({
      outer: classic
        .strictObject({ innerKey: classic.string() })
        .optional()
        .default({ innerKey: '' }),
    });
    expect(knownKeys(schema, ['outer'])).toEqual(['innerKey']);
  });

  it('is empty where the path leads to no object', () => {
    expect(knownKeys(RenewerConfigSchema, ['concurrency'])).toEqual([]);
    expect(knownKeys(RenewerConfigSchema, ['nope', 'deeper'])).toEqual([]);
  });
});

describe('unknownKeysList', () => {
  it('quotes each key, suggests where it can, and counts the rest', () => {
    // Act
    const list = unknownKeysList(['domain', 'colour', 'a', 'b', 'c', 'd', 'e'], ['domains']);
    // Assess
    expect(list).toBe('"domain" (did you mean "domains"?), "colour", "a", "b", "c", … and 2 more');
  });
});

describe('parseConfig: unknown fields', () => {
  it('suggests the known key in the configuration document', () => {
    // Act
    const message = errorOf(() => parseConfig({ ...VALID, acme: { directoryURL: 'letsencrypt' } }));
    // Assess
    expect(message).toContain(
      '- acme: unknown field(s) "directoryURL" (did you mean "directoryUrl"?): check the spelling',
    );
  });

  it('suggests inside a certificate and a listener', () => {
    // Act
    const message = errorOf(() =>
      parseConfig({
        certificates: [
          {
            name: 'www',
            domain: ['example.com'],
            listeners: [{ arn: 'x', mdoe: 'sni' }],
          },
        ],
      }),
    );
    // Assess
    expect(message).toContain(
      '- certificates[0]: unknown field(s) "domain" (did you mean "domains"?)',
    );
    expect(message).toContain(
      '- certificates[0].listeners[0]: unknown field(s) "mdoe" (did you mean "mode"?)',
    );
  });
});

describe('parseDeployment', () => {
  it('lists each problem as field, message and the bad value', () => {
    // Act
    const message = errorOf(() =>
      parseDeployment({ memorySize: 64, region: 'Europe', reservedConcurrency: 0.5 }),
    );
    // Assess
    expect(message).toMatch(/^context "acmeRenewerDeployment" is invalid:$/m);
    expect(message).toMatch(/^- memorySize: .*128; got 64$/m);
    expect(message).toContain('- region: must be a region like "eu-west-1"; got "Europe"');
    expect(message).toContain('- reservedConcurrency: must be a whole number; got 0.5');
  });

  it('names an unknown setting, suggests the known one and lists the settings', () => {
    // Act
    const message = errorOf(() => parseDeployment({ alarmEmial: 'ops@example.com' }));
    // Assess
    expect(message).toContain(
      '- (root): unknown field(s) "alarmEmial" (did you mean "alarmEmail"?): the settings are stackName, account, region,',
    );
  });

  it('says what it got when the context is not an object', () => {
    expect(errorOf(() => parseDeployment('prod'))).toContain('- (root): ');
    expect(errorOf(() => parseDeployment('prod'))).toContain('; got "prod"');
  });

  it('fills in the defaults of a valid context', () => {
    expect(parseDeployment({})).toMatchObject({ stackName: 'AcmeRenewer', memorySize: 512 });
  });
});
