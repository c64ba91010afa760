/**
 * The local cloud: the AWS API emulator, a DNS server answering from its Route 53 zones, Pebble
 * validating against that DNS server, and the state table (dynalite, in memory). `invoke` runs the built bundle in its own process
 * with nothing but environment variables pointing it here.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DnsServer, startDnsServer } from './dns-server.js';
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator/index.js';
import { type Pebble, type PebbleOptions, startPebble } from './pebble.js';
import { type StateTable, startStateTable } from './state-table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(root, 'dist', 'lambda', 'index.js');
const RUNNER = join(root, 'local', 'invoke-bundle.cjs');

export interface InvokeOutcome {
  ok: boolean;
  /** The run report (when the invocation succeeded). */
  report?: { results: Array<Record<string, unknown> & { name: string; action: string }> };
  /** The error of a failed invocation. */
  error?: { name: string; message: string };
  /** Every line the function wrote (structured JSON logs and EMF metrics). */
  lines: string[];
  stderr: string;
  durationMs: number;
  loadMs: number;
  maxRssKb: number;
}

export interface InvokeOptions {
  /** The configuration document (RENEWER_CONFIG). */
  config: unknown;
  /** The Lambda timeout the context reports (default 15 minutes). */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface LocalCloud {
  emulator: Emulator;
  dns: DnsServer;
  pebble: Pebble;
  /** The DynamoDB state table the function finds through `RENEWER_STATE_TABLE`. */
  stateTable: StateTable;
  /** The ACME directory URL to put in the configuration. */
  directoryUrl: string;
  /** Environment for a function process pointed at this cloud. */
  functionEnv(config: unknown): Record<string, string>;
  invoke(event: unknown, options: InvokeOptions): Promise<InvokeOutcome>;
  stop(): Promise<void>;
  /**
   * Publishes a CNAME on the local DNS server (as a public DNS provider outside Route 53 would),
   * e.g. `_acme-challenge.www.example.test` -> `www.challenges.example.net`; Pebble validates
   * through it. Replaces a CNAME already at the name.
   */
  setCname(name: string, target: string): void;
  /** Removes the CNAME at the name, if any. */
  clearCname(name: string): void;
}

export interface LocalCloudOptions {
  pebble?: Omit<PebbleOptions, 'dnsServer'>;
  /** GetChange answers PENDING this many times before INSYNC. @default 1 */
  changeSyncPolls?: number;
  /**
   * The emulator's AWS limits and lags, passed through (see {@link EmulatorOptions}):
   * `route53RequestsPerSecond`, `route53RequestBurst`, `certificatePropagationMs`,
   * `listSecretsLagMs`, `certificatesPerLoadBalancer`.
   * @default - AWS's documented figures
   */
  emulator?: Omit<EmulatorOptions, 'port' | 'changeSyncPolls'>;
  /** @default 'acme-renewer-state' */
  stateTableName?: string;
}

/** Starts emulator, DNS server and Pebble on free ports. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  if (!existsSync(BUNDLE)) {
    throw new Error(`${BUNDLE} is missing: run "npm run build" first`);
  }
  const emulator = await startEmulator({
    ...options.emulator,
    changeSyncPolls: options.changeSyncPolls ?? 1,
  });
  let dns: DnsServer | undefined;
  let table: StateTable | undefined;
  /** Public CNAMEs outside Route 53 (e.g. `_acme-challenge` delegations), by lower-case name. */
  const cnames = new Map<string, string>();
  const dnsName = (name: string) => name.toLowerCase().replace(/\.$/, '');
  try {
    table = await startStateTable(
      options.stateTableName === undefined ? {} : { tableName: options.stateTableName },
    );
    dns = await startDnsServer({
      lookupTxt: (name) => emulator.lookupTxt(name),
      lookupCname: (name) => cnames.get(name),
      // Load balancer DNS names resolve to their emulated addresses (loopback, or private).
      lookupA: (name) => {
        const address = emulator.loadBalancerAddress(name);
        return address === undefined ? [] : [address];
      },
    });
    const pebble = await startPebble({ ...options.pebble, dnsServer: dns.address });
    const dnsServer = dns;
    const stateTable = table;
    const functionEnv = (config: unknown): Record<string, string> => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      // Lambda runs Node 24; this machine's Node 20 would get the SDK's support notice on stderr.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_ROUTE_53: emulator.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator.url,
      AWS_ENDPOINT_URL_ACM: emulator.url,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: emulator.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: emulator.url,
      AWS_ENDPOINT_URL_STS: emulator.url,
      AWS_ENDPOINT_URL_DYNAMODB: stateTable.endpoint,
      RENEWER_STATE_TABLE: stateTable.tableName,
      NODE_EXTRA_CA_CERTS: pebble.tlsCaPath,
      RENEWER_CONFIG: JSON.stringify(config),
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    return {
      emulator,
      dns: dnsServer,
      pebble,
      stateTable,
      directoryUrl: pebble.directoryUrl,
      functionEnv,
      invoke: (event, invokeOptions) =>
        invokeBundle(event, {
          ...functionEnv(invokeOptions.config),
          LOCAL_TIMEOUT_MS: String(invokeOptions.timeoutMs ?? 900_000),
          ...invokeOptions.env,
        }),
      setCname(name, target) {
        cnames.set(dnsName(name), dnsName(target));
      },
      clearCname(name) {
        cnames.delete(dnsName(name));
      },
      async stop() {
        await Promise.allSettled([
          pebble.stop(),
          dnsServer.close(),
          emulator.close(),
          stateTable.close(),
        ]);
      },
    };
  } catch (error) {
    await Promise.allSettled([dns?.close(), table?.close(), emulator.close()]);
    throw error;
  }
}

/** Runs the bundle once in a fresh Node process with exactly `env`. */
export function invokeBundle(event: unknown, env: Record<string, string>): Promise<InvokeOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, JSON.stringify(event ?? {})], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.split('\n').filter((l) => l.length > 0);
      const resultLine = lines.find((l) => l.startsWith('@@result '));
      if (!resultLine) {
        reject(
          new Error(`function process exited with ${code} and no result:\n${stderr}\n${stdout}`),
        );
        return;
      }
      const result = JSON.parse(resultLine.slice('@@result '.length));
      resolve({ ...result, lines: lines.filter((l) => l !== resultLine), stderr });
    });
  });
}
