/**
 * The renewer's state table (DynamoDB): the run lease, the DNS journal, each certificate's
 * schedule and CA retry-after, import intents and the last run report. The key schema and the
 * TTL attribute are fixed by DESIGN.md ("Second contract"); the item layout is the function's.
 */
import { aws_dynamodb as dynamodb, RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** The environment variable through which the function finds the table. */
export const STATE_TABLE_ENV = 'RENEWER_STATE_TABLE';
/** Partition and sort key names (both strings). */
export const STATE_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
/**
 * TTL attribute (epoch seconds). DynamoDB deletes expired items best-effort, "typically within
 * two days of expiration", and expired items still show up in reads until then
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html):
 * TTL only keeps the table small; the function must compare `expiresAt` itself (the lease does).
 */
export const STATE_TABLE_TTL_ATTRIBUTE = 'expiresAt';

/**
 * The DynamoDB item actions the function uses on the table, and nothing else: no table
 * management (DescribeTable, UpdateTable, DeleteTable, ...), no Transact* or PartiQL.
 */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
] as const;

/** Creates the state table in `scope`. */
export function createStateTable(scope: Construct, id: string): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: STATE_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: STATE_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
    // A few dozen small writes per run, twice a day: on-demand costs cents and never throttles a
    // 200-certificate run the way a low provisioned capacity would.
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: STATE_TABLE_TTL_ATTRIBUTE,
    // The default (an AWS owned key) and not the secrets' customer managed key: the table holds
    // no key material (DESIGN.md: "operational state that is not secret"), and a CMK would make
    // the run lease, and so every run, depend on that key's policy and availability.
    encryption: dynamodb.TableEncryption.DEFAULT,
    // RETAIN, not DESTROY: the table is the only record of import intents (ACM ARNs that may not
    // be written to any secret yet), of DNS values still to clean up and of CA retry-after times.
    // Losing it with a stack deletion or a replacement would leak ACM certificates and
    // _acme-challenge records and re-order certificates inside a CA rate-limit window. Its
    // certificates (secrets, ACM imports) are made at run time and outlive the stack too; an
    // empty on-demand table costs nothing to keep. The name is generated, so a re-created stack
    // never collides with a retained table.
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
