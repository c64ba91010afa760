/**
 * The `acme-renewer` command line (commander): `status`, `renew NAME...`, `plan`. Exit codes:
 * 0 done; 1 a certificate or the run failed, or AWS could not be read; 2 a usage error (bad
 * option, unknown certificate, no function to invoke).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command, CommanderError, Option } from 'commander';
import { DynamoStateStore } from '../lambda/state/dynamo-state-store.js';
import { SecretsStore } from '../lambda/store/secrets-store.js';
import pkg from '../package.json' with { type: 'json' };
import { type Out, Progress, painter, useColour } from './format.js';
import { DEFAULT_STACK, type LocateClients, locate, type Target } from './locate.js';
import {
  type Invoker,
  lambdaInvoker,
  localBundleInvoker,
  planResults,
  type RenewEvent,
  type RenewOutcome,
  reportTable,
  runRenew,
} from './renew.js';
import { readStatus, statusTable } from './status.js';

/** Where the CLI reads and writes. */
export interface CliIo {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
}

/**
 * The function's bundle the package ships next to this CLI (`dist/lambda/index.js` beside
 * `dist/cli/acme-renewer.cjs`), when the CLI runs as that built file.
 */
function packagedBundle(): string | undefined {
  if (typeof __dirname !== 'string') return undefined;
  const bundle = join(__dirname, '..', 'lambda', 'index.js');
  return existsSync(bundle) ? bundle : undefined;
}

/** The AWS clients, made on first use (tests inject mocks). */
export interface CliClients extends LocateClients {
  dynamodb: () => DynamoDBClient;
  secrets: () => SecretsManagerClient;
}

/** A usage error: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/** SDK clients for a region (else the SDK's own region chain: AWS_REGION, the profile). */
export function sdkClients(region?: string): CliClients {
  const base = region ? { region } : {};
  return {
    cloudFormation: lazy(() => new CloudFormationClient(base)),
    // One attempt: a retried Invoke would run the function a second time.
    lambda: lazy(() => new LambdaClient({ ...base, maxAttempts: 1 })),
    dynamodb: lazy(() => new DynamoDBClient(base)),
    secrets: lazy(() => new SecretsManagerClient(base)),
  };
}

interface GlobalOptions {
  stack?: string;
  function?: string;
  config?: string;
  region?: string;
}

interface InvokeOptions extends GlobalOptions {
  json?: boolean;
  localBundle?: string;
}

/**
 * Runs the CLI with `argv` (as `process.argv`: node and script first) and returns the exit code.
 * `clients` replaces the SDK clients (tests).
 */
export async function runCli(
  argv: string[],
  io: CliIo,
  clients?: (region?: string) => CliClients,
): Promise<number> {
  const paint = painter(useColour(io.stdout, io.env));
  const errPaint = painter(useColour(io.stderr, io.env));
  const progress = new Progress(io.stderr, io.stderr.isTTY === true && io.env.CI === undefined);
  const print = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  let code = 0;

  const context = (options: GlobalOptions) => {
    const c = (clients ?? sdkClients)(options.region);
    return { c, target: () => locate(options, io.env, c) };
  };
  const stateStore = (c: CliClients, target: Target) =>
    new DynamoStateStore({ client: c.dynamodb(), tableName: target.stateTable });

  async function invoke(
    options: InvokeOptions,
    target: Target,
    c: CliClients,
    event: RenewEvent,
  ): Promise<RenewOutcome> {
    let invoker: Invoker;
    const ownBundle = target.source === 'environment' ? packagedBundle() : undefined;
    if (options.localBundle) invoker = localBundleInvoker(options.localBundle, io.env);
    else if (target.functionName) invoker = lambdaInvoker(c.lambda(), target.functionName);
    else if (ownBundle) {
      // Environment only, no function named: the function's own code runs here, with this
      // environment (RENEWER_STATE_TABLE, RENEWER_CONFIG, credentials, endpoints).
      io.stderr.write(
        `no function named (--function or RENEWER_FUNCTION_NAME): running the renewal on this machine with ${ownBundle}\n`,
      );
      invoker = localBundleInvoker(ownBundle, io.env);
    } else {
      throw new UsageError(
        'no function to invoke: pass --function NAME (or set RENEWER_FUNCTION_NAME), or --stack NAME',
      );
    }
    progress.update(`running ${invoker.description}…`);
    try {
      const state = stateStore(c, target);
      return await runRenew(event, invoker, () => state.getReport());
    } finally {
      progress.stop();
    }
  }

  function printOutcome(outcome: RenewOutcome, options: InvokeOptions, empty?: string): void {
    if (outcome.failed) code = 1;
    if (options.json) {
      print(
        JSON.stringify(
          {
            results: outcome.results,
            failed: outcome.failed,
            ...(outcome.error ? { error: outcome.error } : {}),
          },
          null,
          2,
        ),
      );
    } else if (outcome.results.length > 0) print(reportTable(outcome.results, paint));
    else if (empty && !outcome.error) print(empty);
    // The summary goes to stderr, so `--json` output stays one document.
    if (outcome.error) {
      const failed = outcome.results.filter((r) => r.action === 'failed').length;
      const summary =
        failed > 0
          ? `the run failed: ${failed} certificate(s) failed (report from the ${outcome.source})`
          : `the run failed: ${outcome.error}`;
      io.stderr.write(`${errPaint('red', summary)}\n`);
    }
  }

  const program = new Command('acme-renewer')
    .description('Operate the serverless ACME certificate renewer: status, renew, plan.')
    .version(pkg.version)
    .addOption(
      new Option('--stack <name>', 'CloudFormation stack to find the function and table in')
        .env('ACME_RENEWER_STACK')
        .default(DEFAULT_STACK),
    )
    .option('--function <name>', 'the renewer function (else RENEWER_FUNCTION_NAME or the stack)')
    .option('--config <file>', 'the configuration document, when the function keeps it in a file')
    .option('--region <region>', 'AWS region (else AWS_REGION or the profile)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('status')
    .description(
      'one row per certificate: domains, serial, expiry, renewal time, listeners, last action',
    )
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { json?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals() as GlobalOptions;
      const { c, target } = context(globals);
      progress.update('reading the state table and the secrets…');
      let rows: Awaited<ReturnType<typeof readStatus>>;
      try {
        const t = await target();
        rows = await readStatus(t.config, {
          state: stateStore(c, t),
          store: new SecretsStore({ client: c.secrets(), prefix: t.config.secretPrefix }),
        });
      } finally {
        progress.stop();
      }
      if (options.json) print(JSON.stringify(rows, null, 2));
      else print(rows.length > 0 ? statusTable(rows, paint) : 'no certificates configured');
      if (rows.some((r) => r.error !== null)) code = 1;
    });

  program
    .command('renew')
    .description('invoke the function for these certificates and print its report')
    .argument('<names...>', 'certificate names')
    .option('--force', 'issue now even if not due')
    .option('--dry-run', 'report what would happen and change nothing')
    .option('--json', 'print the report as JSON')
    .option('--local-bundle <file>', 'run a built bundle on this machine instead of the function')
    .action(async (names: string[], options: InvokeOptions & RenewEvent, command: Command) => {
      const globals = command.optsWithGlobals() as InvokeOptions;
      const { c, target } = context(globals);
      const t = await target();
      const known = t.config.certificates.map((cert) => cert.name);
      const unknown = names.filter((n) => !known.includes(n));
      if (unknown.length > 0) {
        throw new UsageError(
          `unknown certificate(s) ${unknown.join(', ')}; configured: ${known.join(', ') || 'none'}`,
        );
      }
      const event: RenewEvent = {
        certificates: [...new Set(names)],
        ...(options.force ? { force: true } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      };
      printOutcome(await invoke({ ...globals, ...options }, t, c, event), options);
    });

  program
    .command('plan')
    .description('a dry run of every certificate: print only what would change')
    .option('--json', 'print the plan as JSON')
    .option('--local-bundle <file>', 'run a built bundle on this machine instead of the function')
    .action(async (options: InvokeOptions, command: Command) => {
      const globals = command.optsWithGlobals() as InvokeOptions;
      const { c, target } = context(globals);
      const t = await target();
      const outcome = await invoke({ ...globals, ...options }, t, c, { dryRun: true });
      const checked = outcome.results.length;
      printOutcome(
        { ...outcome, results: planResults(outcome.results) },
        options,
        `nothing to change (${checked} certificate(s) checked)`,
      );
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const err = error as Error;
    io.stderr.write(`${errPaint('red', `acme-renewer: ${err.message}`)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
