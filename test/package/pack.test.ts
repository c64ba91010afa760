/**
 * The npm package as a CDK user gets it: the jsii compile and `npm pack`, installed into two
 * fresh apps, a CommonJS one as `cdk init app --language typescript` makes it (ts-node,
 * type-checking) and an ESM one (tsx, plus `tsc`), each synthesized with a hosted zone and a
 * listener passed as typed references.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACCOUNT = '111122223333';
const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const LISTENER_ARN = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`;
/** The versions the repository builds with: the npm cache has them, so installs stay offline-fast. */
const CDK_LIB = version('aws-cdk-lib');
const CONSTRUCTS = version('constructs');
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

function version(name: string): string {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The app both consumers run: only the import line differs between CommonJS and ESM. */
function appSource(): string {
  return `import { App, Stack, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_route53 as route53 } from 'aws-cdk-lib';
import { CertificateRenewer, type CertificateRenewerProps } from 'acme-renewer';

const app = new App();
const stack = new Stack(app, 'Consumer', { env: { account: '${ACCOUNT}', region: 'eu-west-1' } });
const hostedZone: route53.IHostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
  hostedZoneId: '${ZONE_ID}',
  zoneName: 'example.com',
});
const listener: elbv2.IApplicationListener = elbv2.ApplicationListener.fromApplicationListenerAttributes(
  stack,
  'Listener',
  {
    listenerArn: '${LISTENER_ARN}',
    securityGroup: ec2.SecurityGroup.fromSecurityGroupId(stack, 'AlbSg', 'sg-0123456789abcdef0'),
  },
);
const props: CertificateRenewerProps = {
  email: 'ops@example.com',
  certificates: [
    {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      hostedZone,
      keyType: 'ec-p384',
      listeners: [{ listener, mode: 'sni' }],
    },
  ],
};
const renewer = new CertificateRenewer(stack, 'Renewer', props);
console.log('function', renewer.function.node.path);
app.synth();
`;
}

interface ConsumerApp {
  readonly dir: string;
  readonly outdir: string;
}

/** Writes a fresh app, installs the tarball and its tools into it and synthesizes it. */
async function consumer(kind: 'cjs' | 'esm', tarball: string): Promise<ConsumerApp> {
  const dir = mkdtempSync(join(tmpdir(), `acme-renewer-consumer-${kind}-`));
  const outdir = join(dir, 'cdk.out');
  const pkg = { name: `consumer-${kind}`, version: '0.1.0', private: true };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(kind === 'esm' ? { ...pkg, type: 'module' } : pkg, null, 2),
  );
  // As `cdk init app --language typescript` writes it (CommonJS), or an ESM app's (NodeNext).
  const compilerOptions =
    kind === 'cjs'
      ? { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', lib: ['es2022'] }
      : { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['es2022'] };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        noEmit: kind === 'esm',
        types: ['node'],
      },
      include: ['bin'],
    }),
  );
  writeFileSync(
    join(dir, 'cdk.json'),
    JSON.stringify({ app: 'npx ts-node --prefer-ts-exts bin/app.ts' }),
  );
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'app.ts'), appSource());
  const tools = kind === 'cjs' ? ['ts-node@^10', 'typescript@~5.9'] : ['tsx@^4', 'typescript@~5.9'];
  await run(
    'npm',
    [
      ...NPM_INSTALL,
      tarball,
      `aws-cdk-lib@${CDK_LIB}`,
      `constructs@${CONSTRUCTS}`,
      '@types/node@^20',
      ...tools,
    ],
    { cwd: dir },
  );
  const env = { ...process.env, CDK_OUTDIR: outdir, NODE_OPTIONS: '' };
  if (kind === 'cjs') {
    // What `cdk synth` runs for a `cdk init` app: ts-node, type-checking against the .d.ts.
    await run('npx', ['ts-node', '--prefer-ts-exts', 'bin/app.ts'], { cwd: dir, env });
  } else {
    await run('npx', ['tsc', '-p', '.'], { cwd: dir, env });
    await run('npx', ['tsx', 'bin/app.ts'], { cwd: dir, env });
  }
  return { dir, outdir };
}

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

function functionOf(app: ConsumerApp): {
  Handler: string;
  Runtime: string;
  Code: { S3Key: string };
  Environment: { Variables: Record<string, unknown> };
} {
  const template = JSON.parse(
    readFileSync(join(app.outdir, 'Consumer.template.json'), 'utf8'),
  ) as Template;
  const functions = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::Lambda::Function',
  );
  expect(functions).toHaveLength(1);
  return functions[0]?.Properties as ReturnType<typeof functionOf>;
}

describe('the npm package', () => {
  let tarball: string;
  let files: string[];
  let apps: Record<'cjs' | 'esm', ConsumerApp>;

  beforeAll(async () => {
    const dest = mkdtempSync(join(tmpdir(), 'acme-renewer-pack-'));
    const npm = { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 };
    // `npm test` has built dist/lambda already, and other suites read it while this one runs:
    // build only when it is missing, and skip prepack (which rebuilds it, as `npm publish` must).
    if (!existsSync(join(ROOT, 'dist/lambda/index.js'))) await run('npm', ['run', 'build'], npm);
    // The jsii compile (dist/lib and .jsii): CI's check that the construct stays jsii-compatible.
    await run('npm', ['run', 'compile'], npm);
    await run(
      'npm',
      ['pack', '--ignore-scripts', '--pack-destination', dest, '--loglevel=error'],
      npm,
    );
    const name = readdirSync(dest).find((f) => f.endsWith('.tgz'));
    tarball = join(dest, name ?? 'missing.tgz');
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
    files = stdout
      .split('\n')
      .filter((f) => f !== '')
      .map((f) => f.replace(/^package\//, ''));
    const [cjs, esm] = await Promise.all([consumer('cjs', tarball), consumer('esm', tarball)]);
    apps = { cjs, esm };
  }, 300_000);

  it('ships compiled JavaScript, declarations and the prebuilt bundle, and no sources or tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lib/infra/index.js',
        'dist/lib/infra/index.d.ts',
        'dist/lib/infra/certificate-renewer.js',
        'dist/lib/infra/certificate-renewer-props.d.ts',
        'dist/lib/lambda/config.js',
        'dist/lib/package.json',
        'dist/lambda/index.js',
        '.jsii',
      ]),
    );
    // zod is bundled (jsii requires non-jsii dependencies to be): its files are its own.
    const bundled = files.filter((f) => f.startsWith('node_modules/'));
    expect(new Set(bundled.map((f) => f.split('/')[1]))).toEqual(new Set(['zod']));
    const unwanted = files.filter(
      (f) =>
        !f.startsWith('node_modules/') &&
        (/^(test|local|\.ci|scripts|infra|lambda)\//.test(f) ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
          f === 'package-lock.json' ||
          f.startsWith('cdk.')),
    );
    expect(unwanted).toEqual([]);
  });

  it('declares the entry points and CDK as peer dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      private?: boolean;
      main: string;
      types: string;
      exports: Record<string, unknown>;
      peerDependencies: Record<string, string>;
    };
    expect(pkg.private).toBeUndefined();
    expect(files).toContain(pkg.main);
    expect(files).toContain(pkg.types);
    expect(pkg.exports['.']).toEqual({ types: `./${pkg.types}`, default: `./${pkg.main}` });
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  for (const kind of ['cjs', 'esm'] as const) {
    it(`synthesizes from a fresh ${kind === 'cjs' ? 'CommonJS (cdk init, ts-node)' : 'ESM (tsx)'} app`, () => {
      const app = apps[kind];
      const fn = functionOf(app);
      expect(fn.Handler).toBe('index.handler');
      expect(fn.Runtime).toMatch(/^nodejs\d+\.x$/);
      const config = JSON.parse(String(fn.Environment.Variables.RENEWER_CONFIG)) as {
        certificates: {
          name: string;
          hostedZoneId: string;
          keyType: string;
          listeners: unknown[];
        }[];
      };
      expect(config.certificates).toEqual([
        expect.objectContaining({
          name: 'www',
          hostedZoneId: ZONE_ID,
          keyType: 'ec-p384',
          listeners: [{ arn: LISTENER_ARN, mode: 'sni' }],
        }),
      ]);
      // The code is the prebuilt bundle from the tarball, as an asset: no bundling at the consumer.
      const asset = join(app.outdir, `asset.${fn.Code.S3Key.replace(/\.zip$/, '')}`);
      const shipped = readFileSync(join(asset, 'index.js'), 'utf8');
      const packaged = readFileSync(
        join(app.dir, 'node_modules/acme-renewer/dist/lambda/index.js'),
        'utf8',
      );
      expect(shipped).toBe(packaged);
      // tsx brings esbuild along; the CommonJS app shows none is needed.
      if (kind === 'cjs') expect(existsSync(join(app.dir, 'node_modules/esbuild'))).toBe(false);
    });
  }
});
