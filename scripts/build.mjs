// Builds the deployable Lambda bundle, dist/lambda/index.js, with the esbuild options that the
// CDK construct also uses (infra/bundling.json), so the code tested locally is the code shipped.
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const options = JSON.parse(
  readFileSync(new URL('../infra/bundling.json', import.meta.url), 'utf8'),
);
const outdir = 'dist/lambda';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [options.entry],
  outfile: `${outdir}/index.js`,
  bundle: true,
  platform: options.platform,
  target: options.target,
  format: options.format,
  minify: options.minify,
  sourcemap: options.sourcemap,
  mainFields: options.mainFields,
  external: options.external,
  legalComments: 'none',
  logLevel: 'warning',
});
// The root package is ESM; the bundle is CommonJS, as Lambda loads index.js without a package.json.
writeFileSync(`${outdir}/package.json`, '{ "type": "commonjs" }\n');
const size = statSync(`${outdir}/index.js`).size;
console.log(`built ${outdir}/index.js (${(size / 1024).toFixed(0)} KiB)`);

// The operator's CLI (bin `acme-renewer`): one self-contained CommonJS file with every dependency
// inside, so the package ships it prebuilt and `npx acme-renewer` needs no install step of its own.
const cliDir = 'dist/cli';
const cliFile = `${cliDir}/acme-renewer.cjs`;
mkdirSync(cliDir, { recursive: true });
await build({
  entryPoints: ['cli/main.ts'],
  outfile: cliFile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(cliFile, 0o755);
const cliSize = statSync(cliFile).size;
console.log(`built ${cliFile} (${(cliSize / 1024).toFixed(0)} KiB)`);
