import {
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_kms as kms,
  aws_route53 as route53,
  aws_secretsmanager as secretsmanager,
} from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  basicProps,
  listenerArn,
  type Synthesized,
  statement,
  statements,
  synthRenewer,
} from './helpers.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ACM = (region: string) => `arn:<AWS::Partition>:acm:${region}:111122223333:certificate/*`;

describe('CertificateRenewer IAM (zones and listeners given)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthRenewer((stack) => ({
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
      externalAccountBinding: {
        keyId: 'kid-1',
        hmacKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Eab', 'eab-hmac'),
      },
      certificates: [
        {
          name: 'www',
          domains: ['Example.com', '*.example.com'],
          hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
            hostedZoneId: 'Z0123456789ABC',
            zoneName: 'example.com',
          }),
          listeners: [
            {
              listener: elbv2.ApplicationListener.fromApplicationListenerAttributes(stack, 'L', {
                listenerArn: listenerArn(1, 1),
                securityGroup: ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-12345678'),
              }),
            },
          ],
        },
        {
          name: 'api',
          domains: ['api.example.org'],
          hostedZoneId: 'Z99999999',
          keyType: 'rsa-2048',
          listeners: [{ listenerArn: listenerArn(2, 1, 'us-east-1'), mode: 'sni' }],
        },
      ],
    }));
  });

  it('changes only TXT _acme-challenge records, only in the configured zones', () => {
    expect(statement(s, 'Route53ChallengeRecords')).toEqual({
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets'],
      Resource: [
        'arn:<AWS::Partition>:route53:::hostedzone/Z0123456789ABC',
        'arn:<AWS::Partition>:route53:::hostedzone/Z99999999',
      ],
      Condition: {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
            '_acme-challenge.api.example.org',
            '_acme-challenge.example.com',
          ],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    });
  });

  it('reads the configured zones and their changes', () => {
    expect(statement(s, 'Route53ReadZones')).toEqual({
      Effect: 'Allow',
      Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
      Resource: [
        'arn:<AWS::Partition>:route53:::hostedzone/Z0123456789ABC',
        'arn:<AWS::Partition>:route53:::hostedzone/Z99999999',
      ],
    });
    expect(statement(s, 'Route53GetChange')).toEqual({
      Effect: 'Allow',
      Action: ['route53:GetChange'],
      Resource: ['arn:<AWS::Partition>:route53:::change/*'],
    });
  });

  it('uses "*" only for the calls that have no resource-level permissions', () => {
    expect(statement(s, 'NonResourceLevelReads')).toEqual({
      Effect: 'Allow',
      Action: [
        'route53:ListHostedZonesByName',
        'secretsmanager:BatchGetSecretValue',
        'secretsmanager:ListSecrets',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeListenerCertificates',
        'elasticloadbalancing:DescribeLoadBalancers',
        'acm:ListCertificates',
      ],
      Resource: ['*'],
    });
    const star = statements(s).filter((st) => JSON.stringify(st.Resource) === '"*"');
    expect(star.map((st) => st.Sid)).toEqual(['NonResourceLevelReads']);
    const actions = statements(s).flatMap((st) =>
      Array.isArray(st.Action) ? st.Action : [st.Action],
    );
    expect(actions.filter((a) => String(a).includes('*'))).toEqual([]);
  });

  it('touches secrets only under the prefix, plus reading the EAB key', () => {
    expect(statement(s, 'SecretsUnderPrefix')).toEqual({
      Effect: 'Allow',
      Action: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:TagResource',
      ],
      Resource: [
        'arn:<AWS::Partition>:secretsmanager:eu-west-1:111122223333:secret:acme-renewer/*',
      ],
    });
    expect(statements(s)).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':secretsmanager:eu-west-1:111122223333:secret:eab-hmac-??????',
          ],
        ],
      },
    });
  });

  it('deletes only the first-contract journal secret, once migrated to the table', () => {
    expect(statement(s, 'DeleteLegacyJournalSecret')).toEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DeleteSecret'],
      Resource: [
        'arn:<AWS::Partition>:secretsmanager:eu-west-1:111122223333:secret:acme-renewer/_dns-journal-??????',
      ],
    });
    const deleters = statements(s).filter((st) =>
      JSON.stringify(st.Action).includes('secretsmanager:DeleteSecret'),
    );
    expect(deleters.map((st) => st.Sid)).toEqual([
      'DeleteLegacyJournalSecret',
      'RetireSecretsWithRecoveryWindow',
    ]);
  });

  it('retires from any listener of the account (removal only) and deletes only its own imports in any region', () => {
    expect(statement(s, 'RetireFromListeners')).toEqual({
      Effect: 'Allow',
      Action: ['elasticloadbalancing:RemoveListenerCertificates'],
      Resource: [
        'arn:<AWS::Partition>:elasticloadbalancing:*:111122223333:listener/app/*',
        'arn:<AWS::Partition>:elasticloadbalancing:*:111122223333:listener/net/*',
      ],
    });
    expect(statement(s, 'RetireOwnAcmAnyRegion')).toEqual({
      Effect: 'Allow',
      Action: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate', 'acm:DeleteCertificate'],
      Resource: ['arn:<AWS::Partition>:acm:*:111122223333:certificate/*'],
      Condition: {
        StringEquals: { 'aws:ResourceTag/ManagedBy': 'acme-renewer' },
        StringLike: { 'aws:ResourceTag/AcmeRenewerCertificate': 'acme-renewer/*' },
      },
    });
  });

  it('retires (deletes) a secret under the prefix only with a recovery window', () => {
    expect(statement(s, 'RetireSecretsWithRecoveryWindow')).toEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DeleteSecret'],
      Resource: [
        'arn:<AWS::Partition>:secretsmanager:eu-west-1:111122223333:secret:acme-renewer/*',
      ],
      Condition: { NumericGreaterThanEquals: { 'secretsmanager:RecoveryWindowInDays': 7 } },
    });
  });

  it('imports into ACM in the stack and listener regions, tagged, and re-imports or deletes only its own', () => {
    const regions = [ACM('eu-west-1'), ACM('us-east-1')];
    expect(statement(s, 'AcmImportTagged')).toEqual({
      Effect: 'Allow',
      Action: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      Resource: regions,
      Condition: {
        StringEquals: { 'aws:RequestTag/ManagedBy': 'acme-renewer' },
        StringLike: { 'aws:RequestTag/AcmeRenewerCertificate': 'acme-renewer/*' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['ManagedBy', 'AcmeRenewerCertificate'] },
      },
    });
    expect(statement(s, 'AcmReimportDeleteOwn')).toEqual({
      Effect: 'Allow',
      Action: ['acm:ImportCertificate', 'acm:DeleteCertificate'],
      Resource: regions,
      Condition: {
        StringEquals: { 'aws:ResourceTag/ManagedBy': 'acme-renewer' },
        StringLike: { 'aws:ResourceTag/AcmeRenewerCertificate': 'acme-renewer/*' },
      },
    });
    const deleters = statements(s).filter((st) =>
      JSON.stringify(st.Action).includes('acm:DeleteCertificate'),
    );
    expect(deleters.map((st) => st.Sid)).toEqual(['AcmReimportDeleteOwn', 'RetireOwnAcmAnyRegion']);
    expect(statement(s, 'AcmRead')).toEqual({
      Effect: 'Allow',
      Action: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      Resource: regions,
    });
  });

  it('uses the state table with item actions only, on that table only', () => {
    const [tableId] = Object.keys(s.template.findResources('AWS::DynamoDB::Table'));
    expect(statement(s, 'StateTable')).toEqual({
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Scan',
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
      ],
      Resource: [`<${tableId}.Arn>`],
    });
    const dynamo = statements(s)
      .flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]))
      .map(String)
      .filter((a) => a.startsWith('dynamodb:'));
    expect(dynamo).toHaveLength(7);
    for (const management of ['DescribeTable', 'UpdateTable', 'DeleteTable', 'CreateTable']) {
      expect(dynamo).not.toContain(`dynamodb:${management}`);
    }
  });

  it('has exactly the statements tested here, in this order', () => {
    expect(statements(s).map((st) => st.Sid ?? st.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      'Route53ChallengeRecords',
      'Route53ReadZones',
      'Route53GetChange',
      'NonResourceLevelReads',
      'SecretsUnderPrefix',
      'DeleteLegacyJournalSecret',
      'RetireSecretsWithRecoveryWindow',
      'AcmImportTagged',
      'AcmReimportDeleteOwn',
      'AcmRead',
      'RetireFromListeners',
      'RetireOwnAcmAnyRegion',
      'StateTable',
      'ListenerCertificates',
      'SecretsKmsKey',
      'PublishEvents',
      ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    ]);
  });

  it('modifies only the configured listeners', () => {
    expect(statement(s, 'ListenerCertificates')).toEqual({
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:ModifyListener',
        'elasticloadbalancing:AddListenerCertificates',
        'elasticloadbalancing:RemoveListenerCertificates',
      ],
      Resource: [listenerArn(1, 1), listenerArn(2, 1, 'us-east-1')],
    });
  });

  it('uses the KMS key only through Secrets Manager', () => {
    expect(statement(s, 'SecretsKmsKey')).toEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: [KEY_ARN],
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
    expect(s.renewer.config.kmsKeyId).toBe(KEY_ARN);
  });

  it('sends failed asynchronous invocations to its own queue only', () => {
    expect(statements(s)).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RenewerFailureQueue/), 'Arn'] },
    });
  });

  it('writes its own log group only (no AWSLambdaBasicExecutionRole)', () => {
    s.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
          },
        ],
      },
    });
    const roles = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
    expect(roles.map((r) => r.Properties.ManagedPolicyArns)).toEqual([undefined]);
    expect(statements(s)).toContainEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RenewerLogGroup/), 'Arn'] },
    });
  });
});

describe('CertificateRenewer IAM (zone discovery, no listeners, no key)', () => {
  it('names all zones when a certificate has no zone, and grants no listener or KMS access', () => {
    const s = synthRenewer({
      certificates: [{ name: 'www', domains: ['www.example.com'] }],
    });
    expect(statement(s, 'Route53ChallengeRecords').Resource).toEqual([
      'arn:<AWS::Partition>:route53:::hostedzone/*',
    ]);
    const sids = statements(s).map((st) => st.Sid);
    expect(sids).not.toContain('ListenerCertificates');
    expect(sids).not.toContain('SecretsKmsKey');
    expect(statement(s, 'AcmRead').Resource).toEqual([ACM('eu-west-1')]);
  });

  it("scopes the ACM tag conditions and the journal secret to this deployment's prefix", () => {
    const s = synthRenewer({ ...basicProps, secretPrefix: 'certs/prod' });
    const own = { 'aws:RequestTag/AcmeRenewerCertificate': 'certs/prod/*' };
    expect(statement(s, 'AcmImportTagged').Condition).toMatchObject({ StringLike: own });
    expect(statement(s, 'AcmReimportDeleteOwn').Condition).toMatchObject({
      StringLike: { 'aws:ResourceTag/AcmeRenewerCertificate': 'certs/prod/*' },
    });
    expect(statement(s, 'DeleteLegacyJournalSecret').Resource).toEqual([
      'arn:<AWS::Partition>:secretsmanager:eu-west-1:111122223333:secret:certs/prod/_dns-journal-??????',
    ]);
  });

  it('keeps the basic fixture to its one zone', () => {
    const s = synthRenewer(basicProps);
    expect(statement(s, 'Route53ReadZones').Resource).toEqual([
      'arn:<AWS::Partition>:route53:::hostedzone/Z0123456789ABC',
    ]);
  });
});
