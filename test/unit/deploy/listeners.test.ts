import { Logger } from '@aws-lambda-powertools/logger';
import {
  AddListenerCertificatesCommand,
  CertificateNotFoundException,
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
  ListenerApiError,
  ListenerDeployer,
  type ListenerDeployerOptions,
  ListenerKeyTypeError,
  ListenerNotFoundError,
  ListenerProtocolError,
  ListenerQuotaError,
  type ListenerView,
  loadBalancerArnOf,
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
const elbError = (name: string, message = `${name} answered`) =>
  new ElasticLoadBalancingV2ServiceException({ name, $fault: 'client', $metadata: {}, message });
const certificateNotFound = (arn: string) =>
  new CertificateNotFoundException({ message: `Certificate '${arn}' not found`, $metadata: {} });
const tooMany = () =>
  new TooManyCertificatesException({
    message: "You've reached the limit on the number of certificates per load balancer",
    $metadata: {},
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
        loadBalancerType: 'application',
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

  describe('describe: load balancer type', () => {
    it('reads network from a listener/net/ ARN and application from listener/app/', async () => {
      // Prepare
      const nlb = L1.replace('listener/app/', 'listener/net/');
      listenersExist([], (arn) => (arn === nlb ? 'TLS' : 'HTTPS'));

      // Act
      const views = await deployer().sut.describe([L1, nlb]);

      // Assess
      expect(views.get(L1)).toMatchObject({ loadBalancerType: 'application' });
      expect(views.get(nlb)).toMatchObject({ loadBalancerType: 'network', protocol: 'TLS' });
    });
  });

  describe('apply', () => {
    const view = (overrides: Partial<ListenerView> = {}): ListenerView => ({
      arn: L1,
      region: 'us-east-1',
      protocol: 'HTTPS',
      loadBalancerType: 'application',
      defaultCertificateArn: OLD,
      certificateArns: [],
      ...overrides,
    });
    const NLB_LISTENER = L1.replace('listener/app/', 'listener/net/');
    const nlbView = (overrides: Partial<ListenerView> = {}) =>
      view({ arn: NLB_LISTENER, protocol: 'TLS', loadBalancerType: 'network', ...overrides });

    /** A clock that the injected sleep moves forward, so that the bind budget runs out. */
    function fakeTime() {
      let now = 1_000_000;
      const slept: number[] = [];
      return {
        slept,
        now: () => now,
        sleep: vi.fn(async (ms: number) => {
          slept.push(ms);
          now += ms;
        }),
      };
    }

    it('default mode: sets the new default certificate with ModifyListener', async () => {
      // Prepare
      elb.on(ModifyListenerCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      const { changes, failed } = await sut.apply(view(), { defaultArn: NEW, sniArns: [] });

      // Assess
      expect(elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input).toEqual({
        ListenerArn: L1,
        Certificates: [{ CertificateArn: NEW }],
      });
      expect(commandNames()).toEqual(['ModifyListenerCommand']);
      expect(changes).toHaveLength(1);
      expect(changes[0]).toContain(NEW);
      expect(failed.size).toBe(0);
    });

    it('sni mode: adds the certificate, then removes the stale managed one but never a foreign one', async () => {
      // Prepare
      elb.on(AddListenerCertificatesCommand).resolves({});
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut, isManaged } = deployer([OLD]);

      // Act
      const { changes, failed } = await sut.apply(
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
      expect(failed.size).toBe(0);
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

    it('removes nothing when AddListenerCertificates fails and no fallback is declared', async () => {
      // Prepare
      elb.on(AddListenerCertificatesCommand).rejects(tooMany());
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      const { changes, failed } = await sut.apply(view({ certificateArns: [OLD] }), {
        sniArns: [NEW],
      });

      // Assess
      expect(changes).toEqual([]);
      expect(failed.get(NEW)?.message).toContain(L1);
      expect(failed.get(NEW)?.message).toMatch(/limit on the number of certificates/);
      expect(elb.commandCalls(RemoveListenerCertificatesCommand)).toHaveLength(0);
    });

    it('fails every wanted certificate and calls nothing more when the listener is gone', async () => {
      // Prepare
      elb.on(ModifyListenerCommand).rejects(missingListener());
      const { sut } = deployer([OLD]);

      // Act
      const { failed } = await sut.apply(view({ certificateArns: [OLD] }), {
        defaultArn: NEW,
        sniArns: [OTHER_SNI],
      });

      // Assess
      expect(commandNames()).toEqual(['ModifyListenerCommand']);
      expect(failed.get(NEW)).toBeInstanceOf(ListenerNotFoundError);
      expect(failed.get(OTHER_SNI)).toBeInstanceOf(ListenerNotFoundError);
    });

    it('makes no call at all when the listener already serves what is wanted', async () => {
      // Prepare
      const { sut, isManaged } = deployer([OLD, NEW]);

      // Act
      const { changes, failed } = await sut.apply(
        view({ defaultCertificateArn: NEW, certificateArns: [OTHER_SNI] }),
        { defaultArn: NEW, sniArns: [OTHER_SNI] },
      );

      // Assess
      expect(changes).toEqual([]);
      expect(failed.size).toBe(0);
      expect(elb.calls()).toHaveLength(0);
      expect(isManaged).not.toHaveBeenCalled();
    });

    it('leaves foreign additional certificates in place without a call', async () => {
      // Prepare
      const { sut } = deployer([]);

      // Act
      const { changes } = await sut.apply(
        view({ defaultCertificateArn: NEW, certificateArns: [FOREIGN] }),
        { defaultArn: NEW, sniArns: [] },
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
      const { changes } = await sut.apply(view(), { defaultArn: NEW, sniArns: [] });

      // Assess
      expect(changes).toHaveLength(1);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(3);
      expect(onThrottle).toHaveBeenCalledTimes(2);
      expect(sleep).toHaveBeenCalledTimes(2);
    });

    describe('a certificate imported in this run', () => {
      it('retries ModifyListener on CertificateNotFound until ELBv2 sees it', async () => {
        // Prepare
        const time = fakeTime();
        elb
          .on(ModifyListenerCommand)
          .rejectsOnce(certificateNotFound(NEW))
          .rejectsOnce(certificateNotFound(NEW))
          .resolves({});
        const { sut } = deployer([], time);

        // Act
        const { changes, failed } = await sut.apply(
          view(),
          { defaultArn: NEW, sniArns: [] },
          { fresh: new Set([NEW]) },
        );

        // Assess
        expect(failed.size).toBe(0);
        expect(changes).toHaveLength(1);
        expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(3);
        expect(time.slept).toEqual([1000, 2000]);
      });

      it('retries AddListenerCertificates on UnsupportedCertificate too', async () => {
        // Prepare
        const time = fakeTime();
        elb
          .on(AddListenerCertificatesCommand)
          .rejectsOnce(elbError('UnsupportedCertificate'))
          .resolves({});
        const { sut } = deployer([], time);

        // Act
        const { failed } = await sut.apply(
          view({ certificateArns: [] }),
          { sniArns: [NEW] },
          { fresh: new Set([NEW]) },
        );

        // Assess
        expect(failed.size).toBe(0);
        expect(elb.commandCalls(AddListenerCertificatesCommand)).toHaveLength(2);
      });

      it('gives up after about 30 s in total and says the next run binds it', async () => {
        // Prepare
        const time = fakeTime();
        elb.on(ModifyListenerCommand).rejects(certificateNotFound(NEW));
        const { sut } = deployer([], time);

        // Act
        const { failed } = await sut.apply(
          view(),
          { defaultArn: NEW, sniArns: [] },
          { fresh: new Set([NEW]) },
        );

        // Assess
        const total = time.slept.reduce((a, b) => a + b, 0);
        expect(total).toBe(30_000);
        expect(time.slept.every((ms) => ms <= 8000)).toBe(true);
        expect(elb.commandCalls(ModifyListenerCommand).length).toBe(time.slept.length + 1);
        expect(failed.get(NEW)).toBeInstanceOf(ListenerApiError);
        expect(failed.get(NEW)?.message).toMatch(/imported into ACM in this run.*next run/);
      });

      it('honours a shorter injected budget', async () => {
        // Prepare
        const time = fakeTime();
        elb.on(ModifyListenerCommand).rejects(certificateNotFound(NEW));
        const { sut } = deployer([], { ...time, bindRetryMs: 2500 });

        // Act
        await sut.apply(view(), { defaultArn: NEW, sniArns: [] }, { fresh: new Set([NEW]) });

        // Assess
        expect(time.slept).toEqual([1000, 1500]);
      });

      it('never retries CertificateNotFound for an ARN that is not fresh', async () => {
        // Prepare
        const time = fakeTime();
        elb.on(ModifyListenerCommand).rejects(certificateNotFound(NEW));
        const { sut } = deployer([], time);

        // Act
        const { failed } = await sut.apply(
          view(),
          { defaultArn: NEW, sniArns: [] },
          { fresh: new Set([OTHER_SNI]) },
        );

        // Assess
        expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
        expect(time.slept).toEqual([]);
        expect(failed.get(NEW)).toBeInstanceOf(ListenerApiError);
        expect(failed.get(NEW)?.message).toContain(NEW);
      });

      it('never retries another error of a fresh ARN', async () => {
        // Prepare
        const time = fakeTime();
        elb.on(ModifyListenerCommand).rejects(elbError('AccessDenied', 'not authorized'));
        const { sut } = deployer([], time);

        // Act
        const { failed } = await sut.apply(
          view(),
          { defaultArn: NEW, sniArns: [] },
          { fresh: new Set([NEW]) },
        );

        // Assess
        expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
        expect(failed.get(NEW)?.message).toMatch(/AccessDenied: not authorized/);
      });

      it('retries only the fresh one of a batch ELBv2 refused', async () => {
        // Prepare
        const time = fakeTime();
        const stale = certArn('stale-not-found');
        let newAttempts = 0;
        elb.on(AddListenerCertificatesCommand).callsFake((input) => {
          const arns = (input.Certificates ?? []).map(
            (c: { CertificateArn: string }) => c.CertificateArn,
          );
          if (arns.includes(stale)) throw certificateNotFound(stale);
          if (arns.includes(NEW) && newAttempts++ < 1) throw certificateNotFound(NEW);
          return {};
        });
        const { sut } = deployer([], time);

        // Act
        const { failed } = await sut.apply(
          view(),
          { sniArns: [NEW, stale] },
          { fresh: new Set([NEW]) },
        );

        // Assess
        expect([...failed.keys()]).toEqual([stale]);
        const calls = elb
          .commandCalls(AddListenerCertificatesCommand)
          .map((c) => c.args[0].input.Certificates?.map((x) => x.CertificateArn));
        // The batch, then NEW twice (not yet visible, then bound), then the missing one once.
        expect(calls).toEqual([[NEW, stale], [NEW], [NEW], [stale]]);
      });
    });

    describe('per-certificate outcomes', () => {
      it('binds the SNI certificates even when the default certificate fails', async () => {
        // Prepare
        elb.on(ModifyListenerCommand).rejects(elbError('InvalidConfigurationRequest', 'bad'));
        elb.on(AddListenerCertificatesCommand).resolves({});
        const { sut } = deployer();

        // Act
        const { changes, failed } = await sut.apply(view(), {
          defaultArn: NEW,
          sniArns: [OTHER_SNI],
        });

        // Assess
        expect([...failed.keys()]).toEqual([NEW]);
        expect(changes).toEqual([`listener ${L1}: added sni certificate(s) ${OTHER_SNI}`]);
      });

      it('binds those that fit the quota one by one and fails only the rest', async () => {
        // Prepare
        const [a, b, c] = ['a', 'b', 'c'].map((id) => certArn(`quota-${id}`)) as [
          string,
          string,
          string,
        ];
        let room = 2;
        elb.on(AddListenerCertificatesCommand).callsFake((input) => {
          const count = input.Certificates?.length ?? 0;
          if (count > room) throw tooMany();
          room -= count;
          return {};
        });
        const { sut } = deployer();

        // Act
        const { changes, failed } = await sut.apply(view(), { sniArns: [a, b, c] });

        // Assess
        expect([...failed.keys()]).toEqual([c]);
        const error = failed.get(c);
        expect(error).toBeInstanceOf(ListenerQuotaError);
        expect(error?.name).toBe('ListenerQuotaError');
        expect((error as ListenerQuotaError).loadBalancerArn).toBe(loadBalancerArnOf(L1));
        expect(error?.message).toContain(
          'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188',
        );
        expect(error?.message).toMatch(/25 certificates/);
        expect(error?.message).toMatch(/not counting default certificates/);
        expect(error?.message).toMatch(/Service Quotas/);
        expect(error?.message).toContain(c);
        expect(changes).toEqual([
          `listener ${L1}: added sni certificate ${a}`,
          `listener ${L1}: added sni certificate ${b}`,
        ]);
      });

      it('stops calling once one certificate does not fit', async () => {
        // Prepare
        const [a, b, c] = ['a', 'b', 'c'].map((id) => certArn(`full-${id}`)) as [
          string,
          string,
          string,
        ];
        elb.on(AddListenerCertificatesCommand).callsFake((input) => {
          if (
            (input.Certificates ?? []).some(
              (x: { CertificateArn: string }) => x.CertificateArn !== a,
            )
          )
            throw tooMany();
          return {};
        });
        const { sut } = deployer();

        // Act
        const { failed } = await sut.apply(view(), { sniArns: [a, b, c] });

        // Assess
        expect([...failed.keys()].sort()).toEqual([b, c].sort());
        expect(failed.get(c)).toBeInstanceOf(ListenerQuotaError);
        expect(elb.commandCalls(AddListenerCertificatesCommand)).toHaveLength(3); // batch, a, b
      });

      it('names the Network Load Balancer quota, which counts the default certificate', async () => {
        // Prepare
        elb.on(AddListenerCertificatesCommand).rejects(tooMany());
        const { sut } = deployer();

        // Act
        const { failed } = await sut.apply(nlbView(), { sniArns: [NEW] });

        // Assess
        const message = failed.get(NEW)?.message ?? '';
        expect(message).toMatch(/Certificates per Network Load Balancer/);
        expect(message).not.toMatch(/not counting default/);
        expect(message).toContain(':loadbalancer/net/web/');
      });

      it('keeps the old certificate bound when its replacement fails (fallback)', async () => {
        // Prepare
        elb.on(AddListenerCertificatesCommand).rejects(tooMany());
        elb.on(RemoveListenerCertificatesCommand).resolves({});
        const STALE = certArn('other-stale');
        const { sut } = deployer([OLD, STALE]);

        // Act
        const { changes, failed } = await sut.apply(
          view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD, STALE] }),
          { sniArns: [NEW], fallbacks: { [NEW]: OLD } },
        );

        // Assess
        expect([...failed.keys()]).toEqual([NEW]);
        const removed = elb
          .commandCalls(RemoveListenerCertificatesCommand)
          .flatMap((c) => c.args[0].input.Certificates?.map((x) => x.CertificateArn));
        expect(removed).toEqual([STALE]);
        expect(changes.join('\n')).not.toContain(OLD);
      });

      it('removes the old certificate once its replacement is bound', async () => {
        // Prepare
        elb.on(AddListenerCertificatesCommand).resolves({});
        elb.on(RemoveListenerCertificatesCommand).resolves({});
        const { sut } = deployer([OLD]);

        // Act
        const { failed } = await sut.apply(
          view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD] }),
          { sniArns: [NEW], fallbacks: { [NEW]: OLD } },
        );

        // Assess
        expect(failed.size).toBe(0);
        expect(
          elb.commandCalls(RemoveListenerCertificatesCommand)[0]?.args[0].input.Certificates,
        ).toEqual([{ CertificateArn: OLD }]);
      });

      it('reports a failed clean-up apart, with every wanted certificate still served', async () => {
        // Prepare
        elb.on(AddListenerCertificatesCommand).resolves({});
        elb.on(RemoveListenerCertificatesCommand).rejects(elbError('OperationNotPermitted'));
        const { sut } = deployer([OLD]);

        // Act
        const { failed, cleanupError, changes } = await sut.apply(
          view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD] }),
          { sniArns: [NEW] },
        );

        // Assess
        expect(failed.size).toBe(0);
        expect(changes).toHaveLength(1);
        expect(cleanupError).toBeInstanceOf(ListenerApiError);
        expect(cleanupError?.message).toMatch(/remove certificates from.*OperationNotPermitted/);
      });

      it('fails every certificate of a batch the call itself refused, in one call', async () => {
        // Prepare
        elb.on(AddListenerCertificatesCommand).rejects(missingListener());
        const { sut } = deployer();

        // Act
        const { failed } = await sut.apply(view(), { sniArns: [NEW, OTHER_SNI] });

        // Assess
        expect(elb.commandCalls(AddListenerCertificatesCommand)).toHaveLength(1);
        expect(failed.get(NEW)).toBeInstanceOf(ListenerNotFoundError);
        expect(failed.get(OTHER_SNI)).toBeInstanceOf(ListenerNotFoundError);
      });
    });

    describe('Network Load Balancer key types', () => {
      it('fails an RSA-4096 certificate at once, without calling ELBv2, naming the fix', async () => {
        // Prepare
        const keyAlgorithmOf = vi.fn(async (_region: string, arn: string) =>
          arn === NEW ? 'RSA_4096' : 'EC_prime256v1',
        );
        elb.on(AddListenerCertificatesCommand).resolves({});
        const { sut } = deployer([], { keyAlgorithmOf });

        // Act
        const { failed, changes } = await sut.apply(nlbView({ defaultCertificateArn: OLD }), {
          defaultArn: NEW,
          sniArns: [OTHER_SNI],
        });

        // Assess
        expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
        const error = failed.get(NEW);
        expect(error).toBeInstanceOf(ListenerKeyTypeError);
        expect(error?.name).toBe('ListenerKeyTypeError');
        expect(error?.message).toContain(NLB_LISTENER);
        expect(error?.message).toContain('RSA_4096 (keyType rsa-4096)');
        expect(error?.message).toContain('set keyType to ec-p256, ec-p384, rsa-2048 or rsa-3072');
        expect(changes).toEqual([
          `listener ${NLB_LISTENER}: added sni certificate(s) ${OTHER_SNI}`,
        ]);
        expect(keyAlgorithmOf).toHaveBeenCalledWith('us-east-1', NEW);
      });

      it.each(['RSA_2048', 'RSA_3072', 'EC_prime256v1', 'EC_secp384r1'])(
        'binds a %s certificate',
        async (algorithm) => {
          // Prepare
          elb.on(ModifyListenerCommand).resolves({});
          const { sut } = deployer([], { keyAlgorithmOf: async () => algorithm });

          // Act
          const { failed } = await sut.apply(nlbView(), { defaultArn: NEW, sniArns: [] });

          // Assess
          expect(failed.size).toBe(0);
          expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
        },
      );

      it('does not check key types on an Application Load Balancer', async () => {
        // Prepare
        const keyAlgorithmOf = vi.fn(async () => 'RSA_4096');
        elb.on(ModifyListenerCommand).resolves({});
        const { sut } = deployer([], { keyAlgorithmOf });

        // Act
        const { failed } = await sut.apply(view(), { defaultArn: NEW, sniArns: [] });

        // Assess
        expect(failed.size).toBe(0);
        expect(keyAlgorithmOf).not.toHaveBeenCalled();
      });

      it('maps an UnsupportedCertificate answer to the same clear error', async () => {
        // Prepare
        elb
          .on(AddListenerCertificatesCommand)
          .rejects(elbError('UnsupportedCertificate', 'a supported key size'));
        const { sut } = deployer([], { keyAlgorithmOf: async () => undefined });

        // Act
        const { failed } = await sut.apply(nlbView(), { sniArns: [NEW] });

        // Assess
        const error = failed.get(NEW);
        expect(error).toBeInstanceOf(ListenerKeyTypeError);
        expect(error?.message).toMatch(/UnsupportedCertificate: a supported key size/);
        expect(error?.message).toMatch(/set keyType to/);
      });

      it('still binds when the key algorithm lookup fails (ELBv2 decides)', async () => {
        // Prepare
        elb.on(ModifyListenerCommand).resolves({});
        const { sut } = deployer([], {
          keyAlgorithmOf: async () => {
            throw new Error('acm down');
          },
        });

        // Act
        const { failed } = await sut.apply(nlbView(), { defaultArn: NEW, sniArns: [] });

        // Assess
        expect(failed.size).toBe(0);
        expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
      });
    });

    describe('plan (a dry run)', () => {
      it('computes the default, missing SNI and stale lines and makes no ELBv2 call', async () => {
        // Prepare: the default was replaced by hand, NEW_SNI is missing, OLD is a stale one of ours
        const NEW_SNI = certArn('new-sni');
        const { sut, isManaged } = deployer([OLD]);

        // Act
        const outcome = await sut.apply(
          view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD, OTHER_SNI] }),
          { defaultArn: NEW, sniArns: [NEW_SNI, OTHER_SNI] },
          { plan: true },
        );

        // Assess
        expect(elb.calls()).toHaveLength(0);
        expect(outcome.changes).toEqual([
          `listener ${L1}: would set default certificate ${FOREIGN} -> ${NEW}`,
          `listener ${L1}: would add sni certificate(s) ${NEW_SNI}`,
          `listener ${L1}: would remove stale certificate(s) ${OLD}`,
        ]);
        expect(outcome.removed).toEqual([OLD]);
        expect(outcome.failed.size).toBe(0);
        expect(isManaged).toHaveBeenCalledWith('us-east-1', OLD);
      });

      it('says nothing and calls nothing when the listener already serves what is wanted', async () => {
        // Prepare
        const { sut } = deployer([OLD]);

        // Act
        const outcome = await sut.apply(
          view({ certificateArns: [NEW] }),
          {
            defaultArn: OLD,
            sniArns: [NEW],
          },
          { plan: true },
        );

        // Assess
        expect(elb.calls()).toHaveLength(0);
        expect(outcome.changes).toEqual([]);
        expect(outcome.removed).toBeUndefined();
      });

      it('still fails a key type a Network Load Balancer cannot serve, without a call', async () => {
        // Prepare
        const keyAlgorithmOf = vi.fn(async () => 'RSA_4096');
        const { sut } = deployer([], { keyAlgorithmOf });

        // Act
        const outcome = await sut.apply(
          nlbView(),
          { defaultArn: NEW, sniArns: [] },
          { plan: true },
        );

        // Assess
        expect(elb.calls()).toHaveLength(0);
        expect(outcome.failed.get(NEW)).toBeInstanceOf(ListenerKeyTypeError);
        expect(outcome.changes).toEqual([]);
      });

      it('does not look up the key type of a certificate a plan would import (no ARN yet)', async () => {
        // Prepare
        const keyAlgorithmOf = vi.fn(async () => 'RSA_2048');
        const { sut } = deployer([], { keyAlgorithmOf });
        const planned = '(new ACM certificate in us-east-1)';

        // Act
        const outcome = await sut.apply(
          nlbView(),
          { defaultArn: planned, sniArns: [] },
          { plan: true },
        );

        // Assess
        expect(keyAlgorithmOf).not.toHaveBeenCalled();
        expect(outcome.changes).toEqual([
          `listener ${NLB_LISTENER}: would set default certificate ${OLD} -> ${planned}`,
        ]);
      });
    });

    it('reports the stale certificates it removed in a real apply', async () => {
      // Prepare
      elb.on(AddListenerCertificatesCommand).resolves({});
      elb.on(RemoveListenerCertificatesCommand).resolves({});
      const { sut } = deployer([OLD]);

      // Act
      const outcome = await sut.apply(
        view({ defaultCertificateArn: FOREIGN, certificateArns: [OLD] }),
        {
          sniArns: [NEW],
        },
      );

      // Assess
      expect(outcome.removed).toEqual([OLD]);
    });
  });
});
