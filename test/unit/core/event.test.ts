import { describe, expect, it } from 'vitest';
import { InvalidEventError, parseEvent, selectNames } from '../../../lambda/core/event.js';
import { excerpt, formatCount, listExcerpt } from '../../../lambda/core/excerpt.js';

const MB = 1 << 20;

/** The InvalidEventError message of `act` (fails the test when it does not throw one). */
function eventError(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidEventError');
}

/** UTF-8 size: the bound that matters for a log line. */
function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

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

describe('parseEvent with a huge bad event', () => {
  it('a 1 MB string event gives a short message that still says what is expected', () => {
    // Act
    const message = eventError(() => parseEvent('x'.repeat(MB)));

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toMatch(/^invalid event "x+…" \(1,048,576 characters\): expected an object/);
  });

  it('a 1 MB key is cut, and the allowed fields are still listed', () => {
    // Act
    const message = eventError(() => parseEvent({ ['k'.repeat(MB)]: true }));

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toMatch(/unknown field\(s\) "k+…" \(1,048,576 characters\)/);
    expect(message).toMatch(/allowed: "certificates" .*"force" .*"dryRun"/);
  });

  it('100,000 unknown keys: the first few and a count', () => {
    // Prepare
    const event = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1]));

    // Act
    const message = eventError(() => parseEvent(event));

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toContain('unknown field(s) "k0", "k1", "k2", "k3", "k4", … and 99,995 more');
    expect(message).toContain('allowed: "certificates"');
  });

  it.each([
    ['force', { force: 'y'.repeat(MB) }, /"force" must be true or false; got "y+…" \(1,048,576/],
    [
      'dryRun',
      { dryRun: ['z'.repeat(MB)] },
      /"dryRun" must be true or false; got \["z+… \(1 item\)/,
    ],
    [
      'certificates',
      { certificates: 'c'.repeat(MB) },
      /"certificates" must be a non-empty list of certificate names; got "c+…"/,
    ],
  ])('a 1 MB value of %s is cut to an excerpt', (_field, event, expected) => {
    // Act
    const message = eventError(() => parseEvent(event));

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toMatch(expected);
  });

  it('a long list of names with one non-name says where that one is', () => {
    // Prepare: the excerpt shows only the start; the bad item is at the end.
    const certificates: unknown[] = Array.from({ length: 100_000 }, () => 'www');
    certificates.push({ name: 'n'.repeat(MB) });

    // Act
    const message = eventError(() => parseEvent({ certificates }));

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toMatch(/got \["www","www",.*… \(100,001 items\)/);
    expect(message).toMatch(/\(certificates\[100000\] is \{"name":"n+… \(1 field\)\)$/);
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

  it('100,000 unknown names: the first few, a count, and the configured names', () => {
    // Prepare
    const names = Array.from({ length: 100_000 }, (_, i) => `nope-${i}`);

    // Act
    const message = eventError(() =>
      selectNames({ names, force: false, dryRun: false, trigger: 'manual' }, configured),
    );

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toBe(
      'unknown certificate name(s) "nope-0", "nope-1", "nope-2", "nope-3", "nope-4", … and 99,995 more; configured certificates: "www", "api", "mail"',
    );
  });

  it('one unknown name of 1 MB is cut', () => {
    // Act
    const message = eventError(() =>
      selectNames(
        { names: ['w'.repeat(MB)], force: false, dryRun: false, trigger: 'manual' },
        configured,
      ),
    );

    // Assess
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toMatch(
      /^unknown certificate name\(s\) "w+…" \(1,048,576 characters\); configured certificates: "www", "api", "mail"$/,
    );
  });

  it('lists the configured names whole only while the list is short', () => {
    // Prepare: 10,000 configured certificates of 64-character names.
    const many = Array.from(
      { length: 10_000 },
      (_, i) => `${'c'.repeat(58)}-${String(i).padStart(5, '0')}`,
    );

    // Act
    const message = eventError(() =>
      selectNames({ names: ['nope'], force: false, dryRun: false, trigger: 'manual' }, many),
    );

    // Assess: the names shown are whole (a name can be copied), and the rest are counted.
    expect(bytes(message)).toBeLessThan(1024);
    expect(message).toContain(`configured certificates: "${many[0]}", "${many[1]}"`);
    expect(message).toMatch(/, … and 9,995 more$/);
  });
});

describe('excerpt', () => {
  it('renders short values as JSON, whole', () => {
    // Act & Assess
    expect(excerpt('www')).toBe('"www"');
    expect(excerpt(['www', 7])).toBe('["www",7]');
    expect(excerpt({ a: { b: [true, null] } })).toBe('{"a":{"b":[true,null]}}');
    expect(excerpt(42)).toBe('42');
    expect(excerpt('line\nbreak "quoted"')).toBe('"line\\nbreak \\"quoted\\""');
  });

  it('cuts a long string to max with an ellipsis and its size', () => {
    // Act
    const text = excerpt('a'.repeat(MB));

    // Assess
    expect(text).toBe(`"${'a'.repeat(57)}…" (1,048,576 characters)`);
    expect(text.indexOf(' (')).toBe(60);
  });

  it('honours max exactly at the boundary', () => {
    // Act & Assess: 8 characters rendered ("abcdef" with quotes) fit in 8; 9 do not.
    expect(excerpt('abcdef', 8)).toBe('"abcdef"');
    expect(excerpt('abcdefg', 8)).toBe('"abcde…" (7 characters)');
  });

  it('counts the items of a cut list and the fields of a cut object', () => {
    // Act & Assess
    expect(
      excerpt(
        Array.from({ length: 100_000 }, () => 1),
        12,
      ),
    ).toBe('[1,1,1,1,1,… (100,000 items)');
    expect(excerpt({ ['k'.repeat(MB)]: 1 }, 12)).toBe('{"kkkkkkkkk… (1 field)');
  });

  it('never splits an escape sequence or a surrogate pair', () => {
    // Act
    const newlines = excerpt('\n'.repeat(100), 12);
    const emoji = excerpt('😀'.repeat(100), 12);

    // Assess
    // 12 characters: a quote, four two-character escapes, the ellipsis and the closing quote;
    // a fifth escape would not fit whole.
    expect(newlines).toBe('"\\n\\n\\n\\n…" (100 characters)');
    expect(emoji).toBe('"😀😀😀😀…" (200 characters)');
  });

  it('is safe for values JSON.stringify rejects or drops', () => {
    // Prepare
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );

    // Act & Assess
    expect(excerpt(circular)).toBe('{"a":1,"self":[circular]}');
    expect(excerpt(10n)).toBe('10n');
    expect(excerpt(undefined)).toBe('undefined');
    expect(excerpt(function named() {})).toBe('[function named]');
    expect(excerpt(Symbol('s'))).toBe('Symbol(s)');
    expect(excerpt(Number.NaN)).toBe('NaN');
    expect(excerpt(hostile)).toBe('(a value that cannot be shown)');
  });

  it('stops at the budget on a sparse array of a billion items', () => {
    // Act
    const text = excerpt(new Array(1e9), 30);

    // Assess
    expect(text).toMatch(/^\[undefined,undefined,.*… \(1,000,000,000 items\)$/);
  });

  it('redacts a private key block, whole or cut', () => {
    // Prepare
    const pem = `-----BEGIN PRIVATE KEY-----\n${'MIIEvQIBADANBgkqhkiG9w0B'.repeat(40)}\n-----END PRIVATE KEY-----`;

    // Act
    const short = excerpt({ key: pem }, 2000);
    const cut = excerpt(`note: ${pem}`);
    const nested = excerpt([pem]);

    // Assess
    for (const text of [short, cut, nested]) {
      expect(text).toContain('[private key redacted]');
      expect(text).not.toContain('MIIEvQ');
    }
    expect(short).toBe('{"key":"[private key redacted]"}');
    expect(cut).toMatch(/^"note: \[private key redacted\]…" \(\d{1},\d{3} characters\)$/);
  });
});

describe('listExcerpt', () => {
  it('lists short lists whole', () => {
    // Act & Assess
    expect(listExcerpt(['a', 'b'])).toBe('"a", "b"');
    expect(listExcerpt([])).toBe('');
  });

  it('shows the first maxItems and counts the rest', () => {
    // Prepare
    const names = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(97 + (i % 26)));

    // Act
    const text = listExcerpt(names);

    // Assess
    expect(text).toBe('"a", "b", "c", "d", "e", … and 99,995 more');
    expect(listExcerpt(names, 2)).toBe('"a", "b", … and 99,998 more');
  });

  it('cuts each item to maxEach', () => {
    // Act & Assess
    expect(listExcerpt(['x'.repeat(MB)], 5, 10)).toBe('"xxxxxxx…" (1,048,576 characters)');
  });
});

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1,000'],
    [1_048_576, '1,048,576'],
  ])('%d -> %s', (n, text) => {
    // Act & Assess
    expect(formatCount(n)).toBe(text);
  });
});
