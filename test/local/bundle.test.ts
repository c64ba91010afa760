/**
 * The deployable bundle runs with nothing but Node and the environment: copied alone into an
 * empty directory (no node_modules anywhere above it), it loads, exports `handler`, and a bad
 * configuration fails the invocation with the schema's message; a huge bad event fails it with
 * a short one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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

  it('rejects a 1 MB bad event with a message (and a log) of a few hundred bytes', () => {
    // Prepare: a valid configuration, so the only fault is the event. The event is built inside
    // the child: 1 MB in the field "certificates", and a 1 MB unknown key.
    copyFileSync(BUNDLE, join(dir, 'index.js'));
    writeFileSync(
      join(dir, 'big-event.cjs'),
      `const m = require('./index.js');
       const big = 'x'.repeat(1 << 20);
       (async () => {
         for (const event of [{ certificates: big }, { [big]: true }]) {
           try {
             await m.handler(event, undefined);
             console.log('RESULT resolved');
           } catch (e) {
             console.log('RESULT ' + JSON.stringify({ name: e.name, message: e.message }));
           }
         }
       })();`,
    );

    // Act
    const child = spawnSync(process.execPath, ['big-event.cjs'], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        RENEWER_CONFIG: JSON.stringify({
          certificates: [{ name: 'www', domains: ['www.example.com'] }],
        }),
      },
    });
    const out = child.stdout;

    // Assess: both invocations fail with InvalidEventError, each message small and still naming
    // the field and what is allowed; the whole output, the handler's error log included, is small.
    const results = out
      .split('\n')
      .filter((line) => line.startsWith('RESULT '))
      .map((line) => JSON.parse(line.slice('RESULT '.length)) as { name: string; message: string });
    expect(results).toHaveLength(2);
    const [field, key] = results;
    expect(field?.name).toBe('InvalidEventError');
    expect(field?.message).toMatch(
      /^invalid event: "certificates" must be a non-empty list of certificate names; got "x+…" \(1,048,576 characters\)$/,
    );
    expect(key?.name).toBe('InvalidEventError');
    expect(key?.message).toMatch(
      /unknown field\(s\) "x+…" \(1,048,576 characters\); allowed: "certificates"/,
    );
    for (const result of results) {
      expect(Buffer.byteLength(result.message)).toBeLessThan(512);
    }
    expect(child.status).toBe(0);
    expect(Buffer.byteLength(out)).toBeLessThan(8 * 1024);
    // The handler logs each failure (Powertools writes errors to stderr): also small.
    expect(child.stderr).toContain('"name":"InvalidEventError"');
    expect(Buffer.byteLength(child.stderr)).toBeLessThan(8 * 1024);
  });
});
