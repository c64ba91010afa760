/**
 * The esbuild options of the deployed function, read from `infra/bundling.json` by
 * `npm run build` (scripts/build.mjs), which writes the bundle the construct ships
 * (infra/lambda-code.ts) and the e2e tests run. Repository only: not part of the npm package.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shape of `infra/bundling.json`. */
export interface SharedBundlingOptions {
  readonly entry: string;
  readonly platform: 'node';
  readonly target: string;
  readonly format: 'cjs' | 'esm';
  readonly minify: boolean;
  readonly sourcemap: boolean | 'external' | 'inline' | 'both' | 'linked';
  readonly mainFields: readonly string[];
  readonly external: readonly string[];
}

/** The repository root (the directory holding package.json and package-lock.json). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Reads and checks `infra/bundling.json`. */
export function readSharedBundlingOptions(
  file = resolve(PROJECT_ROOT, 'infra/bundling.json'),
): SharedBundlingOptions {
  const options = JSON.parse(readFileSync(file, 'utf8')) as SharedBundlingOptions;
  if (options.platform !== 'node') {
    throw new Error(
      `${file}: platform must be "node" for a Lambda bundle; got "${options.platform}"`,
    );
  }
  return options;
}
