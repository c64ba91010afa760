/**
 * Short renderings of values a user sent, for error messages.
 *
 * An invocation event can be megabytes and a configuration can list thousands of certificates;
 * quoting either in full turns one typo into a log line of that size (and a CloudWatch bill).
 * These helpers render a bounded prefix that reads like JSON, say how big the original was, and
 * never throw: a message about bad input must not itself fail on that input.
 */
import { redact } from './redact.js';

const ELLIPSIS = '…';

/** Shown when even the bounded rendering failed (a proxy or getter that throws). */
const UNPRINTABLE = '(a value that cannot be shown)';

/** `1234567` -> `"1,234,567"`; no Intl, so a message does not depend on the runtime's locale data. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Collects output up to `limit` characters; `full` once something did not fit. */
class Output {
  text = '';
  full = false;
  constructor(private readonly limit: number) {}

  /** Appends `token`, or as much of it as fits; false once the output is full. */
  put(token: string): boolean {
    if (this.full) return false;
    const room = this.limit - this.text.length;
    if (token.length <= room) {
      this.text += token;
      return true;
    }
    // Never leave half of a surrogate pair at the cut.
    const end = room > 0 && isHighSurrogate(token.charCodeAt(room - 1)) ? room - 1 : room;
    this.text += token.slice(0, end);
    this.full = true;
    return false;
  }

  /** Appends `token` whole or not at all (an escape sequence must not be split). */
  putWhole(token: string): boolean {
    if (this.full) return false;
    if (token.length > this.limit - this.text.length) {
      this.full = true;
      return false;
    }
    this.text += token;
    return true;
  }

  get room(): number {
    return this.limit - this.text.length;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * A JSON string literal, cut to the room left. Only a prefix one character longer than the room
 * is looked at (each character renders as at least one), so a 1 MB string costs what a short
 * one does. Private key blocks in that prefix are redacted before anything is written.
 */
function putString(s: string, out: Output): void {
  if (!out.put('"')) return;
  const window = s.length > out.room + 1 ? s.slice(0, out.room + 1) : s;
  for (const ch of redact(window)) {
    if (!out.putWhole(JSON.stringify(ch).slice(1, -1))) return;
  }
  if (window.length < s.length) {
    out.full = true;
    return;
  }
  out.put('"');
}

function render(value: unknown, out: Output, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      putString(value, out);
      return;
    case 'number':
      out.put(Number.isFinite(value) ? JSON.stringify(value) : String(value));
      return;
    case 'bigint':
      out.put(`${value}n`);
      return;
    case 'boolean':
      out.put(String(value));
      return;
    case 'undefined':
      out.put('undefined');
      return;
    case 'symbol':
      out.put(value.toString());
      return;
    case 'function':
      out.put(`[function ${value.name || 'anonymous'}]`);
      return;
  }
  if (value === null) {
    out.put('null');
    return;
  }
  const object = value as object;
  if (ancestors.has(object)) {
    out.put('[circular]');
    return;
  }
  if (object instanceof Date) {
    out.put(Number.isNaN(object.getTime()) ? 'Date(invalid)' : `Date(${object.toISOString()})`);
    return;
  }
  if (object instanceof Map || object instanceof Set) {
    out.put(`${object.constructor.name}(${object.size})`);
    return;
  }
  if (ArrayBuffer.isView(object)) {
    out.put(`${object.constructor.name}(${object.byteLength} bytes)`);
    return;
  }
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      out.put('[');
      // Indexing, not iterating: a sparse array of length 1e9 stops at the budget too.
      for (let i = 0; i < object.length && !out.full; i += 1) {
        if (i > 0) out.put(',');
        render(object[i], out, ancestors);
      }
      out.put(']');
      return;
    }
    out.put('{');
    let first = true;
    // for...in stops with the budget; Object.keys would list a million keys first.
    for (const key in object) {
      if (out.full) break;
      if (!Object.hasOwn(object, key)) continue;
      if (!first) out.put(',');
      first = false;
      putString(key, out);
      out.put(':');
      render((object as Record<string, unknown>)[key], out, ancestors);
    }
    out.put('}');
  } finally {
    ancestors.delete(object);
  }
}

/** How big the original was, for the note after a cut (undefined when there is nothing useful). */
function sizeOf(value: unknown): string | undefined {
  if (typeof value === 'string') return plural(value.length, 'character');
  if (typeof value === 'bigint') return plural(String(value).length, 'digit');
  if (Array.isArray(value)) return plural(value.length, 'item');
  if (value !== null && typeof value === 'object')
    return plural(Object.keys(value).length, 'field');
  return undefined;
}

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function renderWithin(value: unknown, limit: number): Output {
  const out = new Output(limit);
  render(value, out, new Set());
  return out;
}

/**
 * A JSON-like rendering of `value` of at most `max` characters, plus a note of the original
 * size when it had to be cut: `"aaaa…" (1,048,576 characters)`, `["a","b",…" (100,000 items)`.
 *
 * Safe for any value (circular structures, BigInt, undefined, functions, symbols, throwing
 * getters) and never throws. Private key blocks are replaced, even a block the cut truncates.
 * @param max - the longest rendering before the size note; at least 8.
 */
export function excerpt(value: unknown, max = 60): string {
  try {
    const limit = Number.isFinite(max) ? Math.max(8, Math.floor(max)) : 60;
    const whole = renderWithin(value, limit);
    if (!whole.full) return redact(whole.text);
    // Render again with room for the ellipsis (and the closing quote of a string), so that an
    // escape sequence is never split by the shortening.
    const isString = typeof value === 'string';
    const cut = renderWithin(value, limit - (isString ? 2 : 1));
    const size = sizeOf(value);
    return `${redact(cut.text)}${ELLIPSIS}${isString ? '"' : ''}${size ? ` (${size})` : ''}`;
  } catch {
    return UNPRINTABLE;
  }
}

/**
 * The first `maxItems` items, each an {@link excerpt} of at most `maxEach` characters, then how
 * many were left out: `"a", "b", … and 99,995 more`. Never throws.
 */
export function listExcerpt(items: readonly unknown[], maxItems = 5, maxEach = 60): string {
  try {
    if (!Array.isArray(items)) return excerpt(items, maxEach);
    const count = Number.isFinite(maxItems) ? Math.max(0, Math.floor(maxItems)) : 5;
    const shown = items.slice(0, count).map((item) => excerpt(item, maxEach));
    const rest = items.length - shown.length;
    if (rest <= 0) return shown.join(', ');
    const more = `${ELLIPSIS} and ${formatCount(rest)} more`;
    return shown.length > 0 ? `${shown.join(', ')}, ${more}` : more;
  } catch {
    return UNPRINTABLE;
  }
}

/**
 * Plain text (a library's error message, a file path) cut to `max` characters with an ellipsis;
 * private key blocks redacted. For text that is part of the sentence, not a quoted value.
 */
export function clip(text: string, max = 200): string {
  const limit = Number.isFinite(max) ? Math.max(8, Math.floor(max)) : 200;
  const s = String(text);
  if (s.length <= limit) return redact(s);
  const end = isHighSurrogate(s.charCodeAt(limit - 2)) ? limit - 2 : limit - 1;
  return `${redact(s.slice(0, end))}${ELLIPSIS}`;
}
