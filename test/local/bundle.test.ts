/**
 * The deployable bundle runs with nothing but Node and the environment: copied alone into an
 * empty directory (no node_modules anywhere above it), it loads, exports `handler`, and a bad
 * configuration fails the invocation with the schema's message.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BUNDLE = join(process.cwd(), 'dist', 'lambda', 'index.js');

describe('dist/lambda/index.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-alone-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is built (npm run build) and carries no private source map inline', () => {
    expect(existsSync(BUNDLE), 'run npm run build first').toBe(true);
    expect(existsSync(`${BUNDLE}.map`)).toBe(true);
    const text = execFileSync('tail', ['-c', '200', BUNDLE]).toString();
    expect(text).not.toMatch(/sourceMappingURL=data:/);
  });

  it('loads alone, exports handler, and reports a bad configuration clearly', () => {
    // Prepare: the bundle alone, outside the repository.
    copyFileSync(BUNDLE, join(dir, 'index.js'));
    writeFileSync(
      join(dir, 'run.cjs'),
      `const m = require('./index.js');
       console.log(typeof m.handler);
       m.handler({}, undefined).then(
         () => console.log('resolved'),
         (e) => console.log('rejected', e.name, e.message.split('\\n')[1]));`,
    );

    // Act
    const out = execFileSync(process.execPath, ['run.cjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        RENEWER_CONFIG: JSON.stringify({ certificates: [{ name: 'x', domains: ['foo'] }] }),
      },
    }).toString();

    // Assess
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('function');
    expect(lines.at(-1)).toBe(
      'rejected ConfigError - certificates[0].domains[0]: domain "foo" is not a fully qualified domain name (like "example.com"); got "foo"',
    );
  });
});
