/**
 * The function's code: the bundle `npm run build` (scripts/build.mjs) writes to `dist/lambda`,
 * the same file the e2e tests run and the npm package ships, so synthesizing needs neither
 * esbuild, the lock file nor the Lambda's sources.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aws_lambda as lambda } from 'aws-cdk-lib';
import { packageRoot } from './package-root.js';

/** The bundle's file name; its handler is `index.handler`. */
export const BUNDLE_FILE = 'index.js';
/** The bundle's source map (shipped when the build writes one: `--enable-source-maps`). */
export const SOURCE_MAP_FILE = 'index.js.map';

/** The directory of the prebuilt bundle; throws when it has not been built. */
export function bundleDirectory(root = packageRoot()): string {
  const dir = join(root, 'dist', 'lambda');
  if (!existsSync(join(dir, BUNDLE_FILE))) {
    throw new Error(
      `the renewer's Lambda bundle ${join(dir, BUNDLE_FILE)} is missing: run \`npm run build\` in the repository first (the npm package ships it prebuilt)`,
    );
  }
  return dir;
}

/** True when the prebuilt bundle has a source map next to it. */
export function hasSourceMap(dir = bundleDirectory()): boolean {
  return existsSync(join(dir, SOURCE_MAP_FILE));
}

/**
 * The asset of the function: the bundle directory as it is, or, with a configuration file, a
 * copy of the bundle plus `configFileName` in a directory named after both (so the asset hash
 * follows the configuration).
 */
export function renewerCode(config?: { fileName: string; json: string }): lambda.Code {
  const dir = bundleDirectory();
  // dist/lambda/package.json only marks the bundle as CommonJS for local runs: Lambda does not need it.
  const files = [BUNDLE_FILE, ...(hasSourceMap(dir) ? [SOURCE_MAP_FILE] : [])];
  if (config === undefined) return lambda.Code.fromAsset(dir, { exclude: ['package.json'] });
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(join(dir, file)));
  hash.update(config.json);
  const staged = join(tmpdir(), `acme-renewer-asset-${hash.digest('hex').slice(0, 16)}`);
  mkdirSync(staged, { recursive: true });
  for (const file of files) copyFileSync(join(dir, file), join(staged, file));
  writeFileSync(join(staged, config.fileName), config.json);
  return lambda.Code.fromAsset(staged);
}
