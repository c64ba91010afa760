import { Logger } from '@aws-lambda-powertools/logger';
import {
  AddListenerCertificatesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  ListenerNotFoundException,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
  TooManyCertificatesException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ListenerDeployer,
  type ListenerDeployerOptions,
  ListenerNotFoundError,
  ListenerProtocolError,
  type ListenerView,
} from '../../../lambda/deploy/listeners.js';

const elb = mockClient(ElasticLoadBalancingV2Client);
const listenerArn = (id: number, region = 'us-east-1') =>
  `arn:aws:elasticloadbalancing:${region}:111122223333:listener/app/web/50dc6c495c0c9188/${(id + 0x100).toString(16)}`;
const certArn = (id: string) => `arn:aws:acm:us-east-1:111122223333:certificate/${id}`;
const NEW = certArn('new');
const OLD = certArn('old');
const FOREIGN = certArn('foreign');
const OTHER_SNI = certArn('other-sni');
const L1 = listenerArn(1);

const throttled = () =>
  new ElasticLoadBalancingV2ServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: {},
    message: 'Rate exceeded',
  });
const missingListener = () =>
  new ListenerNotFoundException({ message: 'One or more listeners not found', $metadata: {} });

function deployer(managed: string[] = [], overrides: Partial<ListenerDeployerOptions> = {}) {
  const isManaged = vi.fn(async (_region: string, arn: string) => managed.includes(arn));
  const sut = new ListenerDeployer({
    clientFor: (region) => new ElasticLoadBalancingV2Client({ region }),
    isManaged,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    sleep: async () => {},
    ...overrides,
  });
  return { sut, isManaged };
}

/** DescribeListeners answering for every ARN it is given, unless one of `missing` is asked for. */
function listenersExist(missing: string[] = [], protocolOf = (_arn: string) => 'HTTPS') {
  elb.on(DescribeListenersCommand).callsFake((input: { ListenerArns?: string[] }) => {
    const arns = input.ListenerArns ?? [];
    if (arns.some((arn) => missing.includes(arn))) throw missingListener();
    return {
      Listeners: arns.map((arn) => ({
        ListenerArn: arn,
        Protocol: protocolOf(arn),
        Certificates: [{ CertificateArn: OLD }],
      })),
    };
  });
  elb.on(DescribeListenerCertificatesCommand).resolves({
    Certificates: [
      { CertificateArn: OLD, IsDefault: true },
      { CertificateArn: FOREIGN, IsDefault: false },
    ],
  });
}

const commandNames = () => elb.calls().map((call) => call.args[0].constructor.name);

describe('ListenerDeployer', () => {
  beforeEach(() => {
    elb.reset();
  });

  describe('describe', () => {
    it('describes 25 listeners in 2 DescribeListeners calls, then each one’s certificates', async () => {
      // Prepare
      listenersExist();
      const arns = Array.from({ length: 25 }, (_, i) => listenerArn(i));

      // Act
      const views = await deployer().sut.describe(arns);

      // Assess
      const batches = elb
        .commandCalls(DescribeListenersCommand)
        .map((c) => c.args[0].input.ListenerArns);
      expect(batches.map((b) => b?.length)).toEqual([20, 5]);
      expect(batches.flat()).toEqual(arns);
      expect(elb.commandCalls(DescribeListenerCertificatesCommand)).toHaveLength(25);
      expect(views.size).toBe(25);
      expect(views.get(arns[24] ?? '')).toEqual({
        arn: arns[24],
        region: 'us-east-1',
        protocol: 'HTTPS',
        defaultCertificateArn: OLD,
        certificateArns: [FOREIGN],
      });
    });

    it('groups batches by the region in the ARN', async () => {
      // Prepare
      listenersExist();
      const regions: string[] = [];
      const { sut } = deployer([], {
        clientFor: (region) => {
          regions.push(region);
          return new ElasticLoadBalancingV2Client({ region });
        },
      });

      // Act
      await sut.describe([
        listenerArn(1, 'eu-west-1'),
        listenerArn(2, 'us-east-1'),
        listenerArn(3, 'eu-west-1'),
      ]);

      // Assess
      const batches = elb
        .commandCalls(DescribeListenersCommand)
        .map((c) => c.args[0].input.ListenerArns);
      expect(batches).toEqual([
        [listenerArn(1, 'eu-west-1'), listenerArn(3, 'eu-west-1')],
        [listenerArn(2)],
      ]);
      expect(regions.slice(0, 2)).toEqual(['eu-west-1', 'us-east-1']);
    });

    it('isolates a missing listener by describing its batch one by one', async () => {
      // Prepare
      const arns = [listenerArn(1), listenerArn(2), listenerArn(3)];
      listenersExist([listenerArn(2)]);

      // Act
      const views = await deployer().sut.describe(arns);

      // Assess
      expect(elb.commandCalls(DescribeListenersCommand)).toHaveLength(4);
      const missing = views.get(listenerArn(2));
      expect(missing).toBeInstanceOf(ListenerNotFoundError);
      expect((missing as Error).name).toBe('ListenerNotFoundError');
      expect((missing as Error).message).toContain(listenerArn(2));
      expect((missing as Error).message).toMatch(/configuration/);
      expect(views.get(listenerArn(1))).toMatchObject({ arn: listenerArn(1), protocol: 'HTTPS' });
      expect(views.get(listenerArn(3))).toMatchObject({ arn: listenerArn(3), protocol: 'HTTPS' });
    });

    it('flags an HTTP listener and does not read its certificates', async () => {
      // Prepare
      listenersExist([], (arn) => (arn === listenerArn(2) ? 'HTTP' : 'TLS'));

      // Act
      const views = await deployer().sut.describe([listenerArn(1), listenerArn(2)]);

      // Assess
      const error = views.get(listenerArn(2));
      expect(error).toBeInstanceOf(ListenerProtocolError);
      expect((error as Error).message).toBe(
        `listener ${listenerArn(2)} uses protocol HTTP; only HTTPS (ALB) and TLS (NLB) listeners can serve a certificate: fix listeners[].arn in the configuration`,
      );
      expect(views.get(listenerArn(1))).toMatchObject({ protocol: 'TLS' });
      const described = elb.commandCalls(DescribeListenerCertificatesCommand);
      expect(described.map((c) => c.args[0].input.ListenerArn)).toEqual([listenerArn(1)]);
    });

    it('reads every page of certificates and separates the default', async () => {
      // Prepare
      elb.on(DescribeListenersCommand).resolves({
        Listeners: [
          { ListenerArn: L1, Protocol: 'HTTPS', Certificates: [{ CertificateArn: NEW }] },
        ],
      });
      elb
        .on(DescribeListenerCertificatesCommand)
        .resolvesOnce({
          Certificates: [
            { CertificateArn: NEW, IsDefault: true },
            { CertificateArn: OLD, IsDefault: false },
          ],
          NextMarker: 'page-2',
        })
        .resolvesOnce({ Certificates: [{ CertificateArn: FOREIGN, IsDefault: false }] });

      // Act
      const views = await deployer().sut.describe([L1]);

      // Assess
      expect(views.get(L1)).toMatchObject({
        defaultCertificateArn: NEW,
        certificateArns: [OLD, FOREIGN],
      });
      const markers = elb
        .commandCalls(DescribeListenerCertificatesCommand)
        .map((c) => c.args[0].input.Marker);
      expect(markers).toEqual([undefined, 'page-2']);
    });

    it('retries a throttled DescribeListeners', async () => {
      // Prepare
      const onThrottle = vi.fn();
      listenersExist();
      elb
        .on(DescribeListenersCommand)
        .rejectsOnce(throttled())
        .resolves({ Listeners: [{ ListenerArn: L1, Protocol: 'HTTPS', Certificates: [] }] });

      // Act
      const views = await deployer([], { onThrottle }).sut.describe([L1]);

      // Assess
      expect(views.get(L1)).toMatchObject({ arn: L1 });
      expect(elb.commandCalls(DescribeListenersCommand)).toHaveLength(2);
      expect(onThrottle).toHaveBeenCalledExactlyOnceWith('DescribeListeners');
    });
  });

  describe('apply', () => {
    const view = (overrides: Partial<ListenerView> = {}): ListenerView => ({
      arn: L1,
      region: 'us-east-1',
      protocol: 'HTTPS',
      defaultCertificateArn: OLD,
      certificateArns: [],
      ...overrides,
    });

    it('default mode: sets the new default certificate with ModifyListener', async () => {
      // Prepare
      elb.on(ModifyListenerCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      const changes = await sut.apply(view(), { defaultArn: NEW, sniArns: [] });

      // Assess
      expect(elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input).toEqual({
        ListenerArn: L1,
        Certificates: [{ CertificateArn: NEW }],
      });
      expect(commandNames()).toEqual(['ModifyListenerCommand']);
      expect(changes).toHaveLength(1);
      expect(changes[0]).toContain(NEW);
    });

    it('sni mode: adds the certificate, then removes the stale managed one but never a foreign one', async () => {
      // Prepare
      elb.on(AddListenerCertificatesCommand).resolves({});
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut, isManaged } = deployer([OLD]);

      // Act
      const changes = await sut.apply(
        view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD, FOREIGN, OTHER_SNI] }),
        { sniArns: [NEW, OTHER_SNI] },
      );

      // Assess
      expect(commandNames()).toEqual([
        'AddListenerCertificatesCommand',
        'RemoveListenerCertificatesCommand',
      ]);
      expect(elb.commandCalls(AddListenerCertificatesCommand)[0]?.args[0].input).toEqual({
        ListenerArn: L1,
        Certificates: [{ CertificateArn: NEW }],
      });
      expect(elb.commandCalls(RemoveListenerCertificatesCommand)[0]?.args[0].input).toEqual({
        ListenerArn: L1,
        Certificates: [{ CertificateArn: OLD }],
      });
      expect(isManaged).toHaveBeenCalledWith('us-east-1', OLD);
      expect(changes).toHaveLength(2);
    });

    it('default mode: removes a stale managed additional certificate only after ModifyListener', async () => {
      // Prepare
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      await sut.apply(view({ certificateArns: [OLD, FOREIGN] }), { defaultArn: NEW, sniArns: [] });

      // Assess
      expect(commandNames()).toEqual([
        'ModifyListenerCommand',
        'RemoveListenerCertificatesCommand',
      ]);
      expect(
        elb.commandCalls(RemoveListenerCertificatesCommand)[0]?.args[0].input.Certificates,
      ).toEqual([{ CertificateArn: OLD }]);
    });

    it('removes nothing when AddListenerCertificates fails', async () => {
      // Prepare
      elb
        .on(AddListenerCertificatesCommand)
        .rejects(new TooManyCertificatesException({ message: 'limit reached', $metadata: {} }));
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      const act = sut.apply(view({ certificateArns: [OLD] }), { sniArns: [NEW] });

      // Assess
      await expect(act).rejects.toThrow(/limit reached/);
      await expect(act).rejects.toThrow(L1);
      expect(elb.commandCalls(RemoveListenerCertificatesCommand)).toHaveLength(0);
    });

    it('adds and removes nothing when ModifyListener fails', async () => {
      // Prepare
      elb.on(ModifyListenerCommand).rejects(missingListener());
      const { sut } = deployer([OLD]);

      // Act
      const act = sut.apply(view({ certificateArns: [OLD] }), {
        defaultArn: NEW,
        sniArns: [OTHER_SNI],
      });

      // Assess
      await expect(act).rejects.toBeInstanceOf(ListenerNotFoundError);
      expect(commandNames()).toEqual(['ModifyListenerCommand']);
    });

    it('makes no call at all when the listener already serves what is wanted', async () => {
      // Prepare
      const { sut, isManaged } = deployer([OLD, NEW]);

      // Act
      const changes = await sut.apply(
        view({ defaultCertificateArn: NEW, certificateArns: [OTHER_SNI] }),
        {
          defaultArn: NEW,
          sniArns: [OTHER_SNI],
        },
      );

      // Assess
      expect(changes).toEqual([]);
      expect(elb.calls()).toHaveLength(0);
      expect(isManaged).not.toHaveBeenCalled();
    });

    it('leaves foreign additional certificates in place without a call', async () => {
      // Prepare
      const { sut } = deployer([]);

      // Act
      const changes = await sut.apply(
        view({ defaultCertificateArn: NEW, certificateArns: [FOREIGN] }),
        {
          defaultArn: NEW,
          sniArns: [],
        },
      );

      // Assess
      expect(changes).toEqual([]);
      expect(elb.calls()).toHaveLength(0);
    });

    it('retries a throttled ModifyListener before going on', async () => {
      // Prepare
      const onThrottle = vi.fn();
      const sleep = vi.fn(async () => {});
      elb.on(ModifyListenerCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
      const { sut } = deployer([], { onThrottle, sleep });

      // Act
      const changes = await sut.apply(view(), { defaultArn: NEW, sniArns: [] });

      // Assess
      expect(changes).toHaveLength(1);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(3);
      expect(onThrottle).toHaveBeenCalledTimes(2);
      expect(sleep).toHaveBeenCalledTimes(2);
    });
  });
});
