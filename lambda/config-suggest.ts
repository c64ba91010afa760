/**
 * "Did you mean" for unknown fields: the known keys at a path of a zod schema, and the closest
 * of them to a misspelt key. Shared by the configuration document (lambda/config.ts) and the
 * CDK deployment context (infra/context.ts); works with zod and zod/mini schemas alike (both
 * keep their structure in `_zod.def`).
 */
import type { $ZodType } from 'zod/v4/core';
import { excerpt, formatCount } from './core/excerpt.js';

/** The parts of `_zod.def` walked here (see zod's `$ZodTypeDef` variants). */
interface Def {
  readonly type: string;
  readonly shape?: Record<string, $ZodType>;
  readonly element?: $ZodType;
  readonly innerType?: $ZodType;
  readonly in?: $ZodType;
  readonly out?: $ZodType;
  readonly valueType?: $ZodType;
  readonly options?: readonly $ZodType[];
  readonly getter?: () => $ZodType;
}

function defOf(schema: $ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/** Wrappers that do not change where keys are: the schema they wrap. */
function unwrap(schema: $ZodType, depth = 0): $ZodType[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nonoptional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return def.innerType ? unwrap(def.innerType, depth + 1) : [];
    case 'pipe':
      return def.in ? unwrap(def.in, depth + 1) : [];
    case 'lazy':
      return def.getter ? unwrap(def.getter(), depth + 1) : [];
    case 'union':
      return (def.options ?? []).flatMap((o) => unwrap(o, depth + 1));
    default:
      return [schema];
  }
}

/**
 * The field names an object at `path` of `schema` allows (an issue's path: object keys and
 * array indexes), or an empty list when the path does not lead to an object schema.
 */
export function knownKeys(schema: $ZodType, path: readonly PropertyKey[]): string[] {
  let nodes = unwrap(schema);
  for (const part of path) {
    nodes = nodes.flatMap((node) => {
      const def = defOf(node);
      if (def.type === 'object' && typeof part === 'string') {
        const child = def.shape?.[part];
        return child ? unwrap(child) : [];
      }
      if (def.type === 'array' && typeof part === 'number' && def.element)
        return unwrap(def.element);
      if (def.type === 'record' && def.valueType) return unwrap(def.valueType);
      return [];
    });
  }
  const keys = nodes.flatMap((node) => {
    const def = defOf(node);
    return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
  });
  return [...new Set(keys)];
}

/** Keys longer than this get no suggestion (and cost nothing: a 1 MB key is not compared). */
const MAX_KEY_LENGTH = 64;

/**
 * Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), or
 * `limit + 1` as soon as it must exceed `limit`.
 */
export function editDistance(a: string, b: string, limit = 2): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (previous2[j - 2] ?? 0) + 1);
      }
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    previous2 = previous;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/**
 * The known key closest to `key`: the same but for case, within 2 edits (1 for keys of up to
 * 3 characters, so `"a"` suggests nothing), or a prefix of 4+ characters either way
 * (`propagationTimeout` -> `propagationTimeoutSeconds`; of several, the closest in length).
 * Undefined when none is close.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
  const lower = key.toLowerCase();
  const limit = key.length <= 3 ? 1 : 2;
  let best: { key: string; score: number } | undefined;
  for (const candidate of known) {
    if (candidate === key) continue;
    const other = candidate.toLowerCase();
    let score = editDistance(lower, other, limit);
    if (score > limit) {
      const prefix =
        Math.min(lower.length, other.length) >= 4 &&
        (other.startsWith(lower) || lower.startsWith(other));
      if (!prefix) continue;
      // After every near spelling; among prefixes, the closest in length.
      score = limit + 1 + Math.abs(lower.length - other.length) / 1000;
    }
    if (best === undefined || score < best.score) best = { key: candidate, score };
  }
  return best?.key;
}

/**
 * The unknown keys for a message: each quoted and cut to `maxEach` characters, with
 * `(did you mean "x"?)` where a known key is close; the first `maxItems`, then how many more.
 */
export function unknownKeysList(
  keys: readonly string[],
  known: readonly string[],
  maxEach = 40,
  maxItems = 5,
): string {
  const shown = keys.slice(0, maxItems).map((key) => {
    const suggestion = closestKey(key, known);
    const quoted = excerpt(key, maxEach);
    return suggestion === undefined
      ? quoted
      : `${quoted} (did you mean ${JSON.stringify(suggestion)}?)`;
  });
  const rest = keys.length - shown.length;
  return rest > 0 ? `${shown.join(', ')}, … and ${formatCount(rest)} more` : shown.join(', ');
}
