/**
 * Reads the stack's settings from the CDK context (cdk.json or `-c key=value`):
 * - `acmeRenewer`: the configuration document (RENEWER_CONFIG's format), an object or JSON text;
 * - `acmeRenewerConfigFile`: instead, a path to a JSON file holding it (for large deployments);
 * - `acmeRenewerDeployment`: deployment settings (schedule, alarms, sizing, optional reserved
 *   concurrency, account/region).
 */
import { readFileSync } from 'node:fs';
import { Duration, aws_logs as logs } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { z } from 'zod';
import { ConfigError, formatPath, formatValue, jsonProblem, valueAt } from '../lambda/config.js';
import { knownKeys, unknownKeysList } from '../lambda/config-suggest.js';
import type { RenewerStackProps } from './renewer-stack.js';

const RETENTIONS = Object.values(logs.RetentionDays).filter(
  (v): v is number => typeof v === 'number',
);

export const DeploymentSchema = z.strictObject({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, { error: 'must be a CloudFormation stack name' })
    .default('AcmeRenewer'),
  account: z
    .string()
    .regex(/^\d{12}$/, { error: 'must be a 12-digit account id' })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be a region like "eu-west-1"' })
    .optional(),
  schedule: z
    .string()
    .regex(/^(cron|rate)\(.+\)$/, {
      error: 'must be an EventBridge "cron(...)" or "rate(...)" expression',
    })
    .optional(),
  scheduleIntervalHours: z.number().positive().max(84).optional(),
  alarmEmail: z.email({ error: 'must be an e-mail address' }).optional(),
  alarmTopicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, {
      error: 'must be an SNS topic ARN',
    })
    .optional(),
  // No default here: the construct fits its default (14 days) to short-lived profiles.
  expiryAlarmDays: z.number().int().min(1).max(89).optional(),
  memorySize: z.number().int().min(128).max(10240).default(512),
  reservedConcurrency: z
    .number()
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1 (leave it out for none, the default)' })
    .optional(),
  logRetentionDays: z
    .number()
    .refine((n) => RETENTIONS.includes(n), { error: `must be one of ${RETENTIONS.join(', ')}` })
    .default(365),
});
export type DeploymentSettings = z.output<typeof DeploymentSchema>;

/** Problems listed per deployment-context error, as for the configuration document. */
const MAX_PROBLEMS = 20;
/** Unknown keys are cut to this many characters in a message. */
const KEY_EXCERPT = 40;

/**
 * Validates the `acmeRenewerDeployment` context and fills in defaults.
 * @throws ConfigError listing each problem as `- <field>: <what is allowed>; got <value>` (the
 * configuration document's format), unknown fields with the closest known one.
 */
export function parseDeployment(input: unknown): DeploymentSettings {
  const parsed = DeploymentSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const lines = issues.slice(0, MAX_PROBLEMS).map((issue) => {
    const where = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(DeploymentSchema, issue.path);
      return `- ${where}: unknown field(s) ${unknownKeysList(issue.keys, known, KEY_EXCERPT)}: the settings are ${known.join(', ')} (see infra/README.md)`;
    }
    return `- ${where}: ${issue.message}; got ${formatValue(valueAt(input, issue.path))}`;
  });
  if (issues.length > MAX_PROBLEMS) {
    lines.push(`- … and ${issues.length - MAX_PROBLEMS} more problems`);
  }
  throw new ConfigError(`context "acmeRenewerDeployment" is invalid:\n${lines.join('\n')}`);
}

function fromContext(node: Node, key: string): unknown {
  const value = node.tryGetContext(key);
  // `-c key=<json>` arrives as a string.
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch (error) {
      throw new ConfigError(
        `context "${key}" is not valid JSON: ${jsonProblem(error, value)} (the text is not repeated here)`,
      );
    }
  }
  return value;
}

/** The stack id and props the context describes. */
export function stackPropsFromContext(node: Node): { id: string; props: RenewerStackProps } {
  const file = node.tryGetContext('acmeRenewerConfigFile') as string | undefined;
  const config = file ? readFileSync(file, 'utf8') : fromContext(node, 'acmeRenewer');
  if (config === undefined) {
    throw new ConfigError(
      'no configuration: set the context key "acmeRenewer" in cdk.json (see infra/README.md) or pass -c acmeRenewerConfigFile=<file.json>',
    );
  }
  const d = parseDeployment(fromContext(node, 'acmeRenewerDeployment') ?? {});
  const account = d.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = d.region ?? process.env.CDK_DEFAULT_REGION;
  return {
    id: d.stackName,
    props: {
      description: 'Scheduled ACME certificate renewer (acme-renewer)',
      ...(account || region
        ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } }
        : {}),
      config: config as RenewerStackProps['config'],
      configSource: file ? `acmeRenewerConfigFile ${file}` : 'cdk.json context "acmeRenewer"',
      ...(d.schedule === undefined ? {} : { scheduleExpression: d.schedule }),
      ...(d.scheduleIntervalHours === undefined
        ? {}
        : { scheduleInterval: Duration.hours(d.scheduleIntervalHours) }),
      ...(d.alarmEmail === undefined ? {} : { alarmEmail: d.alarmEmail }),
      ...(d.alarmTopicArn === undefined ? {} : { alarmTopicArn: d.alarmTopicArn }),
      ...(d.expiryAlarmDays === undefined ? {} : { expiryAlarmDays: d.expiryAlarmDays }),
      memorySize: d.memorySize,
      logRetention: d.logRetentionDays as logs.RetentionDays,
      ...(d.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrency: d.reservedConcurrency }),
    },
  };
}
