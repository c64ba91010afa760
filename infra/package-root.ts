/**
 * Where this package's own files are at synth time (the prebuilt Lambda bundle in `dist/lambda`).
 *
 * The published package is compiled to CommonJS (jsii emits CommonJS), where `__dirname` is the
 * compiled module's directory and `import.meta` is a syntax error. A repository checkout runs the
 * TypeScript sources as ESM (tsx), where `import.meta.url` would work but cannot be written in a
 * module that is also compiled to CommonJS (TS1343), and `__dirname` does not exist. So the search
 * starts from `__dirname` when there is one (the package; vitest provides it too), else from the
 * working directory: the CDK CLI runs a checkout's app (`cdk.json`) from the checkout's root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The `name` of this package in its package.json. */
export const PACKAGE_NAME = 'acme-renewer';

/** The directory holding this package's package.json (the repository root in a checkout). */
export function packageRoot(): string {
  const start = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (let dir = start; ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `cannot find the ${PACKAGE_NAME} package (a package.json named "${PACKAGE_NAME}") in ${start} or above: from a checkout, run the app from the repository root`,
  );
}

/** True when `dir` has the package's package.json (not the `{"type":"commonjs"}` ones inside dist/). */
function isPackageRoot(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}
