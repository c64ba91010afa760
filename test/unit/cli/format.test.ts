import { describe, expect, it } from 'vitest';
import {
  Progress,
  painter,
  shortListener,
  shortSerial,
  shortTime,
  table,
  useColour,
} from '../../../cli/format.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (s: string) => chunks.push(s) };
}

describe('useColour', () => {
  it('colours a terminal only, and never with NO_COLOR or TERM=dumb', () => {
    expect(useColour(sink(true), {})).toBe(true);
    expect(useColour(sink(false), {})).toBe(false);
    expect(useColour(sink(true), { NO_COLOR: '' })).toBe(false);
    expect(useColour(sink(true), { NO_COLOR: '1' })).toBe(false);
    expect(useColour(sink(true), { TERM: 'dumb' })).toBe(false);
  });
});

describe('table', () => {
  it('aligns columns on the plain text and leaves no trailing spaces', () => {
    const text = table(
      ['NAME', 'ACTION', 'REASON'],
      [
        ['www', { text: 'renewed', style: 'green' }, 'forced'],
        ['api-long-name', 'unchanged', ''],
      ],
    );
    expect(text.split('\n')).toEqual([
      'NAME           ACTION     REASON',
      'www            renewed    forced',
      'api-long-name  unchanged',
    ]);
  });

  it('keeps the alignment when cells are coloured', () => {
    const plain = table(['A', 'B'], [[{ text: 'x', style: 'red' }, 'y']]);
    const coloured = table(['A', 'B'], [[{ text: 'x', style: 'red' }, 'y']], painter(true));
    expect(coloured).toContain('\x1b[');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(plain);
  });
});

describe('short forms', () => {
  it('writes times in UTC to the minute, and passes through what is not a time', () => {
    expect(shortTime('2026-12-03T14:38:59.999Z')).toBe('2026-12-03 14:38Z');
    expect(shortTime('2026-12-03T16:38:00+02:00')).toBe('2026-12-03 14:38Z');
    expect(shortTime(undefined)).toBe('');
    expect(shortTime('soon')).toBe('soon');
  });

  it('shortens long serials and listener ARNs', () => {
    expect(shortSerial('0123456789abcdef0123')).toBe('0123456789abcdef…');
    expect(shortSerial('abc')).toBe('abc');
    expect(shortSerial(undefined)).toBe('');
    expect(
      shortListener('arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/ab/cd'),
    ).toBe('app/web/ab/cd');
    expect(shortListener('not-an-arn')).toBe('not-an-arn');
  });
});

describe('Progress', () => {
  it('writes nothing when stderr is not a terminal', () => {
    const out = sink(false);
    const progress = new Progress(out);
    progress.update('working');
    progress.stop();
    expect(out.chunks).toEqual([]);
  });

  it('draws the message on a terminal and clears the line when stopped', () => {
    const out = sink(true);
    const progress = new Progress(out);
    progress.update('invoking');
    progress.stop();
    expect(out.chunks[0]?.startsWith('\r\x1b[K')).toBe(true);
    expect(out.chunks[0]?.endsWith(' invoking')).toBe(true);
    expect(out.chunks.at(-1)).toBe('\r\x1b[K');
  });
});
