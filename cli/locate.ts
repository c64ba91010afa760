/**
 * Finds what the CLI works on: the state table, the configuration and the function. In order:
 *
 * 1. `RENEWER_STATE_TABLE` and `RENEWER_CONFIG` (or `--config FILE`) in the environment: no AWS
 *    lookup at all; the function (for `renew` and `plan`) is `--function` or
 *    `RENEWER_FUNCTION_NAME`.
 * 2. `--function NAME` (or `RENEWER_FUNCTION_NAME`): the function's own configuration
 *    (Lambda GetFunctionConfiguration) names its table and carries its configuration.
 * 3. The stack (`--stack`, `ACME_RENEWER_STACK`, default `AcmeRenewer`): its outputs
 *    (CloudFormation DescribeStacks) name the function and the table, then as in 2.
 */
import { readFileSync } from 'node:fs';
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { loadConfig, parseConfig, type RenewerConfig } from '../lambda/config.js';

/** The stack name `cdk deploy` uses unless the deployment context names another. */
export const DEFAULT_STACK = 'AcmeRenewer';

/** Output keys of the renewer stack (infra/renewer-stack.ts). */
export const OUTPUTS = { functionName: 'FunctionName', stateTable: 'StateTableName' } as const;

/** Nothing to work on could be found; the message says what to pass. */
export class LocateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocateError';
  }
}

/** What the commands work on. */
export interface Target {
  stateTable: string;
  config: RenewerConfig;
  /** The deployed function, when known (env-only mode without `--function` has none). */
  functionName?: string;
  /** How it was found, for messages. */
  source: 'environment' | 'function' | 'stack';
}

/** Options of {@link locate}, from the command line. */
export interface LocateOptions {
  readonly stack?: string;
  readonly function?: string;
  /** A JSON configuration file, for a function whose configuration is a file in its asset. */
  readonly config?: string;
}

/** The clients {@link locate} needs (made lazily: env-only mode makes none). */
export interface LocateClients {
  cloudFormation: () => Pick<CloudFormationClient, 'send'>;
  lambda: () => Pick<LambdaClient, 'send'>;
}

function configFromFile(file: string): RenewerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LocateError(`--config ${file} cannot be read: ${(error as Error).message}`);
  }
  return parseConfig(text, `--config ${file}`);
}

/** Finds the table, the configuration and the function (see the module comment for the order). */
export async function locate(
  options: LocateOptions,
  env: NodeJS.ProcessEnv,
  clients: LocateClients,
): Promise<Target> {
  const functionName = options.function ?? env.RENEWER_FUNCTION_NAME;
  const table = env.RENEWER_STATE_TABLE;
  const inline = env.RENEWER_CONFIG;
  if (table && (options.config || (inline && inline.trim() !== ''))) {
    return {
      stateTable: table,
      config: options.config ? configFromFile(options.config) : loadConfig(env),
      ...(functionName ? { functionName } : {}),
      source: 'environment',
    };
  }
  if (functionName) return fromFunction(functionName, undefined, options, clients, 'function');
  const stack = options.stack ?? env.ACME_RENEWER_STACK ?? DEFAULT_STACK;
  const outputs = await stackOutputs(stack, clients);
  const fn = outputs.get(OUTPUTS.functionName);
  if (!fn) {
    throw new LocateError(
      `stack ${stack} has no ${OUTPUTS.functionName} output: pass --function NAME, or set RENEWER_STATE_TABLE and RENEWER_CONFIG`,
    );
  }
  return fromFunction(fn, outputs.get(OUTPUTS.stateTable), options, clients, 'stack');
}

/**
 * The stack's outputs by key. DescribeStacks answers `Stacks[].Outputs[]` of
 * `{ OutputKey, OutputValue }`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
 */
async function stackOutputs(stack: string, clients: LocateClients): Promise<Map<string, string>> {
  let answer: DescribeStacksCommandOutput;
  try {
    answer = await clients.cloudFormation().send(new DescribeStacksCommand({ StackName: stack }));
  } catch (error) {
    throw new LocateError(
      `stack ${stack} cannot be read (${(error as Error).name}: ${(error as Error).message}): pass --stack NAME or --function NAME, or set RENEWER_STATE_TABLE and RENEWER_CONFIG`,
      { cause: error },
    );
  }
  const outputs = new Map<string, string>();
  for (const o of answer.Stacks?.[0]?.Outputs ?? []) {
    if (o.OutputKey && o.OutputValue !== undefined) outputs.set(o.OutputKey, o.OutputValue);
  }
  return outputs;
}

/**
 * The function's environment names its table and holds its configuration, inline
 * (`RENEWER_CONFIG`) or as a file inside its asset (`RENEWER_CONFIG_FILE`), which only the
 * function can read: then `--config FILE` gives the CLI the same document.
 */
async function fromFunction(
  functionName: string,
  tableOutput: string | undefined,
  options: LocateOptions,
  clients: LocateClients,
  source: Target['source'],
): Promise<Target> {
  let variables: Record<string, string>;
  try {
    const answer = await clients
      .lambda()
      .send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    variables = answer.Environment?.Variables ?? {};
  } catch (error) {
    throw new LocateError(
      `function ${functionName} cannot be read (${(error as Error).name}: ${(error as Error).message})`,
      { cause: error },
    );
  }
  const stateTable = variables.RENEWER_STATE_TABLE ?? tableOutput;
  if (!stateTable) {
    throw new LocateError(`function ${functionName} has no RENEWER_STATE_TABLE`);
  }
  let config: RenewerConfig;
  if (options.config) config = configFromFile(options.config);
  else if (variables.RENEWER_CONFIG) {
    config = parseConfig(variables.RENEWER_CONFIG, `RENEWER_CONFIG of ${functionName}`);
  } else if (variables.RENEWER_CONFIG_FILE) {
    throw new LocateError(
      `function ${functionName} reads its configuration from ${variables.RENEWER_CONFIG_FILE} in its code asset (too large for an environment variable): pass the same document with --config FILE`,
    );
  } else {
    throw new LocateError(`function ${functionName} has no RENEWER_CONFIG`);
  }
  return { stateTable, config, functionName, source };
}
