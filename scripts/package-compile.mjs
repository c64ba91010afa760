// Compiles the construct library for the npm package with jsii (tsconfig.jsii.json): dist/lib
// gets CommonJS + .d.ts of infra/index.ts and what it imports (lambda/config.ts and friends),
// and .jsii (the assembly Construct Hub and jsii-pacmak read) is written at the package root.
// The repository itself is ESM ("type": "module"); dist/lib/package.json marks the compiled
// files as CommonJS, so CommonJS apps (`cdk init`, ts-node) and ESM apps both load them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

const outdir = 'dist/lib';
rmSync(outdir, { recursive: true, force: true });
execFileSync('npx', ['jsii', '--fail-on-warnings'], {
  stdio: 'inherit',
  // jsii prints a banner on Node 20 (still supported here: engines >=20).
  env: { ...process.env, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION: '1' },
});
mkdirSync(outdir, { recursive: true });
writeFileSync(`${outdir}/package.json`, '{ "type": "commonjs" }\n');
console.log(`compiled ${outdir} and .jsii`);
