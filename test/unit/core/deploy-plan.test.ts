/**
 * The deploy step's plan (a dry run): drift that a real run would repair is listed as "would ..."
 * lines and nothing is changed; then a real run makes exactly those changes. deployAll is called
 * directly with the real ListenerDeployer over a stateful ELBv2 mock and the in-memory fakes.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  AddListenerCertificatesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RenewerConfigInput } from '../../../lambda/config.js';
import { type DeployContext, deployAll } from '../../../lambda/core/deploy.js';
import type { Work } from '../../../lambda/core/work.js';
import { ListenerDeployer, type ListenerView } from '../../../lambda/deploy/listeners.js';
import { MemoryStateStore } from '../../../lambda/state/memory-state-store.js';
import {
  ACCOUNT,
  AdoptableAcm,
  deployContext,
  deployWork,
  listenerArn,
  MemoryStore,
  makeCertificates,
  quietLogs,
  storedFrom,
  type TestCertificate,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const L2 = listenerArn('eu-west-1', 2);
const A1 = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/www-a1`;
const A2 = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/www-a2`;
/** An earlier ARN of ours still bound to L2: stale. */
const OLD = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/www-old`;
const FOREIGN1 = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/by-hand`;
const FOREIGN2 = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/by-hand`;

const config: RenewerConfigInput = {
  acme: { email: 'ops@example.com' },
  certificates: [
    {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      listeners: [
        { arn: L1, mode: 'default' },
        { arn: L2, mode: 'sni' },
      ],
    },
  ],
};

let certificates: TestCertificate[];
beforeAll(() => {
  certificates = makeCertificates(1);
});
quietLogs();

/** ELBv2 with state: what each listener serves, changed only by the three mutating calls. */
const elb = mockClient(ElasticLoadBalancingV2Client);
const served = new Map<string, { default?: string; sni: string[] }>();

function listenerState(arn: string) {
  const state = served.get(arn);
  if (!state) throw new Error(`no listener ${arn}`);
  return state;
}

function views(): Map<string, ListenerView> {
  return new Map(
    [...served].map(([arn, s]) => [
      arn,
      {
        arn,
        region: arn.split(':')[3] ?? '',
        protocol: 'HTTPS',
        loadBalancerType: 'application' as const,
        ...(s.default ? { defaultCertificateArn: s.default } : {}),
        certificateArns: [...s.sni],
      },
    ]),
  );
}

type CertificateList = { ListenerArn?: string; Certificates?: Array<{ CertificateArn?: string }> };
const arnsOf = (input: CertificateList) => (input.Certificates ?? []).map((c) => c.CertificateArn);

beforeEach(() => {
  elb.reset();
  served.clear();
  elb.on(ModifyListenerCommand).callsFake((input: CertificateList) => {
    listenerState(input.ListenerArn ?? '').default = arnsOf(input)[0];
    return {};
  });
  elb.on(AddListenerCertificatesCommand).callsFake((input: CertificateList) => {
    const state = listenerState(input.ListenerArn ?? '');
    state.sni.push(...(arnsOf(input) as string[]));
    return {};
  });
  elb.on(RemoveListenerCertificatesCommand).callsFake((input: CertificateList) => {
    const state = listenerState(input.ListenerArn ?? '');
    const removed = arnsOf(input);
    state.sni = state.sni.filter((a) => !removed.includes(a));
    return {};
  });
});

/** One world: ACM, the secret store, the state table and ELBv2 (module-level mock). */
function world() {
  const acm = new AdoptableAcm();
  const store = new MemoryStore([]);
  const state = new MemoryStateStore();
  const listeners = new ListenerDeployer({
    clientFor: (region) => new ElasticLoadBalancingV2Client({ region }),
    isManaged: (region, arn) => acm.isManaged(region, arn),
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    sleep: async () => {},
  });
  const context = (dryRun: boolean): DeployContext =>
    deployContext({
      acm: acm.asDeployer(),
      listeners,
      views: views(),
      store: store.asStore(),
      state,
      dryRun,
    });
  /** The work as `run` would load it from the store. */
  const work = (decision?: { issue: boolean }): Work => {
    const current = store.certificate('www');
    const versionId = store.version('acme-renewer/www', 'AWSCURRENT')?.id;
    return deployWork(
      config,
      'www',
      current ? { current, ...(versionId ? { currentVersionId: versionId } : {}) } : {},
      decision,
    );
  };
  return { acm, store, state, context, work };
}

/** www deployed everywhere: A1 the default of L1, A2 an SNI certificate of L2. */
function deployed() {
  const w = world();
  const cert = certificates[0] as TestCertificate;
  w.store.seed(
    'acme-renewer/www',
    JSON.stringify(storedFrom(cert, { 'us-east-1': A1, 'eu-west-1': A2 })),
  );
  w.acm.seed(A1, { serial: cert.serial, owner: 'www' });
  w.acm.seed(A2, { serial: cert.serial, owner: 'www' });
  served.set(L1, { default: A1, sni: [] });
  served.set(L2, { default: FOREIGN2, sni: [A2] });
  return w;
}

function noChangeAnywhere(w: ReturnType<typeof world>) {
  expect(elb.calls()).toHaveLength(0);
  expect(w.acm.mutations()).toEqual([]);
  expect(w.store.writes).toEqual([]);
  expect(w.store.promotions).toEqual([]);
}

describe('deployAll plan (dry run)', () => {
  it('lists a lost SNI certificate, a default replaced by hand and a stale one, and changes nothing', async () => {
    // Prepare: drift on both listeners
    const w = deployed();
    w.acm.seed(OLD, { serial: 'old', owner: 'www' });
    served.set(L1, { default: FOREIGN1, sni: [] });
    served.set(L2, { default: FOREIGN2, sni: [OLD] });
    const planned = w.work();
    const putIntent = vi.spyOn(w.state, 'putImportIntent');
    const putSchedule = vi.spyOn(w.state, 'putSchedule');

    // Act
    await deployAll(w.context(true), [planned], []);

    // Assess
    expect(planned.failure).toBeUndefined();
    expect([...planned.changes].sort()).toEqual(
      [
        `listener ${L1} would serve it as default certificate`,
        `listener ${L2} would serve it as sni certificate`,
        `would remove stale certificate(s) ${OLD} from listener ${L2}`,
      ].sort(),
    );
    noChangeAnywhere(w);
    expect(putIntent).not.toHaveBeenCalled();
    expect(putSchedule).not.toHaveBeenCalled();
    expect(served.get(L1)).toEqual({ default: FOREIGN1, sni: [] });
    expect(planned.deployed).toBeUndefined();
    expect(planned.served).toBeUndefined();

    // Act: the real run
    const real = w.work();
    await deployAll(w.context(false), [real], []);

    // Assess: exactly those changes, and the listeners serve www again
    expect([...real.changes].sort()).toEqual(
      planned.changes
        .map((line) => line.replace('would serve', 'now serves').replace('would remove', 'removed'))
        .sort(),
    );
    expect(elb.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArn: L1, Certificates: [{ CertificateArn: A1 }] },
    ]);
    expect(elb.commandCalls(AddListenerCertificatesCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArn: L2, Certificates: [{ CertificateArn: A2 }] },
    ]);
    expect(elb.commandCalls(RemoveListenerCertificatesCommand).map((c) => c.args[0].input)).toEqual(
      [{ ListenerArn: L2, Certificates: [{ CertificateArn: OLD }] }],
    );
    expect(served.get(L1)).toEqual({ default: A1, sni: [] });
    expect(served.get(L2)).toEqual({ default: FOREIGN2, sni: [A2] });
    expect(w.acm.mutations()).toEqual([]);
  });

  it('lists the import of a deleted ACM certificate; the real run imports it and binds it', async () => {
    // Prepare: A1 deleted from ACM by hand; L1 still names it
    const w = deployed();
    w.acm.certificates.delete(A1);
    const planned = w.work();

    // Act
    await deployAll(w.context(true), [planned], []);

    // Assess
    expect([...planned.changes].sort()).toEqual(
      [
        `listener ${L1} would serve it as default certificate`,
        'would import into ACM in us-east-1 (new ARN)',
      ].sort(),
    );
    noChangeAnywhere(w);
    expect(w.acm.imported).toEqual([]);

    // Act: the real run
    const real = w.work();
    await deployAll(w.context(false), [real], []);

    // Assess
    const imported = w.acm.imported[0]?.arn as string;
    expect(w.acm.imported).toHaveLength(1);
    expect([...real.changes].sort()).toEqual(
      [
        `listener ${L1} now serves it as default certificate`,
        `imported into ACM ${imported}`,
      ].sort(),
    );
    expect(served.get(L1)?.default).toBe(imported);
    expect(w.store.certificate('www')?.acmCertificateArn).toEqual({
      'us-east-1': imported,
      'eu-west-1': A2,
    });
  });

  it('plans a certificate that would be issued without calling anything for it', async () => {
    // Prepare: nothing stored yet, and the listeners serve something else
    const w = world();
    served.set(L1, { default: FOREIGN1, sni: [] });
    served.set(L2, { default: FOREIGN2, sni: [] });
    const describe = vi.spyOn(w.acm, 'describe');
    const exists = vi.spyOn(w.acm, 'exists');
    const planned = w.work({ issue: true });

    // Act
    await deployAll(w.context(true), [planned], []);

    // Assess
    expect(planned.changes).toEqual([
      `would store, import and bind the new certificate to ${L1}, ${L2}`,
    ]);
    expect(describe).not.toHaveBeenCalled();
    expect(exists).not.toHaveBeenCalled();
    noChangeAnywhere(w);
  });

  it('an idle certificate plans nothing', async () => {
    // Prepare
    const w = deployed();
    const planned = w.work();

    // Act
    await deployAll(w.context(true), [planned], []);

    // Assess
    expect(planned.changes).toEqual([]);
    expect(planned.failure).toBeUndefined();
    noChangeAnywhere(w);
  });
});
