/**
 * The esbuild options of the deployed function, read from `infra/bundling.json`: the same file
 * `npm run build` (scripts/build.mjs) reads, so the bundle the e2e tests run is the bundle CDK ships.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aws_lambda_nodejs as nodejs } from 'aws-cdk-lib';

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

const SOURCE_MAP_MODES: Record<string, nodejs.SourceMapMode> = {
  external: nodejs.SourceMapMode.EXTERNAL,
  inline: nodejs.SourceMapMode.INLINE,
  both: nodejs.SourceMapMode.BOTH,
  linked: nodejs.SourceMapMode.DEFAULT,
};

/**
 * The NodejsFunction bundling options equivalent to `shared` (minus command hooks, added by the
 * caller). `externalModules` is always set: NodejsFunction's default would leave `@aws-sdk/*`
 * out of the bundle, while `npm run build` bundles it, and the two must ship the same code.
 */
export function toNodejsBundling(shared: SharedBundlingOptions): nodejs.BundlingOptions {
  const sourceMapMode =
    typeof shared.sourcemap === 'string' ? SOURCE_MAP_MODES[shared.sourcemap] : undefined;
  return {
    target: shared.target,
    format: shared.format === 'esm' ? nodejs.OutputFormat.ESM : nodejs.OutputFormat.CJS,
    minify: shared.minify,
    sourceMap: shared.sourcemap !== false,
    ...(sourceMapMode === undefined ? {} : { sourceMapMode }),
    mainFields: [...shared.mainFields],
    externalModules: [...shared.external],
    // scripts/build.mjs drops legal comments too.
    esbuildArgs: { '--legal-comments': 'none' },
    forceDockerBundling: false,
  };
}
