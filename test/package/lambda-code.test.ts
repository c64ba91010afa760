/** Where the construct finds the prebuilt bundle, in a checkout and in the installed package. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleDirectory } from '../../infra/lambda-code.js';
import { packageRoot } from '../../infra/package-root.js';

describe('bundleDirectory', () => {
  it('names the build to run when the bundle is missing', () => {
    const root = mkdtempSync(join(tmpdir(), 'acme-renewer-nobundle-'));
    expect(() => bundleDirectory(root)).toThrow(
      /dist\/lambda\/index\.js is missing: run `npm run build` in the repository first/,
    );
  });

  it('is dist/lambda under the package root once built', () => {
    const root = mkdtempSync(join(tmpdir(), 'acme-renewer-bundle-'));
    mkdirSync(join(root, 'dist', 'lambda'), { recursive: true });
    writeFileSync(join(root, 'dist', 'lambda', 'index.js'), 'exports.handler = () => {};');
    expect(bundleDirectory(root)).toBe(join(root, 'dist', 'lambda'));
  });
});

describe('packageRoot', () => {
  it('is the directory of the package.json named acme-renewer (the checkout here)', () => {
    expect(packageRoot()).toBe(fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, ''));
  });
});
