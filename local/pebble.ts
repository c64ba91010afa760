import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

/** Where the Debian package puts the binary; `PEBBLE_BIN` overrides it. */
const DEFAULT_PEBBLE_BIN = '/usr/bin/pebble';
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

/** Options of {@link startPebble}. */
export interface PebbleOptions {
  /** `127.0.0.1:<port>` of the DNS server Pebble validates DNS-01 challenges against. */
  readonly dnsServer: string;
  /**
   * Sets `PEBBLE_VA_NOSLEEP=1`, skipping the random 0–4 s sleep before each validation.
   * @default false - Pebble sleeps as it does by default, like a real CA's delay
   */
  readonly noSleep?: boolean;
  /**
   * Percent of good nonces Pebble rejects with `badNonce` (`PEBBLE_WFE_NONCEREJECT`).
   * @default - unset: Pebble's own default of 5
   */
  readonly nonceRejectPercent?: number;
  /**
   * Percent of orders that reuse a valid authorisation (`PEBBLE_AUTHZREUSE`).
   * @default - unset: Pebble's own default of 50
   */
  readonly authzReusePercent?: number;
  /**
   * Lifetime of issued certificates in seconds (`certificateValidityPeriod`).
   * @default - unset: Pebble's own default of about five years
   */
  readonly certificateValidityPeriod?: number;
  /**
   * External account binding keys: key id to base64url HMAC key. When given, Pebble requires
   * EAB on every new account.
   * @default - EAB not required
   */
  readonly externalAccountBinding?: Record<string, string>;
  /**
   * Number of alternate root chains (`PEBBLE_ALTERNATE_ROOTS`).
   * @default 0
   */
  readonly alternateRoots?: number;
  /**
   * Any other `PEBBLE_*` environment variables, applied last.
   * @default - none
   */
  readonly env?: Record<string, string>;
}

/** A running Pebble started by {@link startPebble}. */
export interface Pebble {
  /** `https://localhost:<port>/dir`. */
  readonly directoryUrl: string;
  /** `https://localhost:<management port>`. */
  readonly managementUrl: string;
  /** PEM file of the CA that signed Pebble's own TLS certificate: give it to clients as `NODE_EXTRA_CA_CERTS`. */
  readonly tlsCaPath: string;
  /** Same PEM as {@link Pebble.tlsCaPath}, as a string. */
  readonly tlsCa: string;
  /**
   * PEM file of Pebble's own `localhost` TLS certificate (SAN `DNS:localhost,IP:127.0.0.1`), for
   * a proxy in front of it (`local/acme-front.ts`) that clients must trust like Pebble itself.
   */
  readonly tlsCertificatePath: string;
  /** PEM file of the private key of {@link Pebble.tlsCertificatePath}. */
  readonly tlsPrivateKeyPath: string;
  /** PEM of `/roots/0`, then `/roots/N` for each alternate root. New at every start. */
  roots(): Promise<string[]>;
  /** PEM of `/intermediates/0`, then `/intermediates/N` for each alternate chain. */
  intermediates(): Promise<string[]>;
  /** Parsed JSON of `/cert-status-by-serial/<hex>`. */
  certStatus(serialHex: string): Promise<unknown>;
  /** Pebble's captured stdout and stderr, for debugging failed tests. */
  logs(): string;
  /** Kills the process and removes its temporary directory; safe to call twice. */
  stop(): Promise<void>;
}

/** The TLS material Pebble serves its ACME and management APIs with. */
interface TlsFiles {
  caPath: string;
  ca: string;
  certificatePath: string;
  privateKeyPath: string;
}

/**
 * Creates a throw-away CA and a `localhost` certificate signed by it: the Debian package ships
 * no certificate, and its example configuration points at files that do not exist.
 */
async function generateTls(dir: string): Promise<TlsFiles> {
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.pem');
  const key = join(dir, 'localhost.key');
  const csr = join(dir, 'localhost.csr');
  const certificatePath = join(dir, 'localhost.pem');
  const extensions = join(dir, 'localhost.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = async (args: string[]): Promise<void> => {
    try {
      await execFileAsync('openssl', args);
    } catch (error) {
      throw new Error(`openssl ${args[0]} failed while generating Pebble's TLS certificate`, {
        cause: error,
      });
    }
  };

  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    caPath,
    '-days',
    '30',
    '-subj',
    '/CN=acme-renewer local Pebble TLS CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  await writeFile(
    extensions,
    [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caPath,
    '-CAkey',
    caKey,
    // An explicit serial avoids -CAcreateserial's side file.
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '30',
    '-extfile',
    extensions,
    '-out',
    certificatePath,
  ]);
  return { caPath, ca: await readFile(caPath, 'utf8'), certificatePath, privateKeyPath: key };
}

/** Returns `count` distinct free ports (two sequential probes could yield the same number). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(await freePort());
  }
  return [...ports];
}

/** GETs an HTTPS URL trusting only `ca`; rejects on a non-2xx status with the body. */
async function httpsGet(url: string, ca: string, timeoutMs = 5_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // Pebble listens on 127.0.0.1 only, so never try ::1 for "localhost"; no agent, so no
    // pooled keep-alive socket outlives the call.
    const req = request(url, { ca, family: 4, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new Error(`GET ${url} returned HTTP ${status}: ${body}`));
          return;
        }
        resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function buildEnv(options: PebbleOptions): NodeJS.ProcessEnv {
  // Inherited PEBBLE_* variables are dropped so that the options alone decide how Pebble
  // behaves: a stray PEBBLE_VA_NOSLEEP in a developer's shell would otherwise hide the sleeps.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PEBBLE_')),
  );
  if (options.noSleep === true) {
    env.PEBBLE_VA_NOSLEEP = '1';
  }
  if (options.nonceRejectPercent !== undefined) {
    env.PEBBLE_WFE_NONCEREJECT = String(options.nonceRejectPercent);
  }
  if (options.authzReusePercent !== undefined) {
    env.PEBBLE_AUTHZREUSE = String(options.authzReusePercent);
  }
  if (options.alternateRoots !== undefined) {
    env.PEBBLE_ALTERNATE_ROOTS = String(options.alternateRoots);
  }
  return { ...env, ...options.env };
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return true;
  }
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts Pebble as a child process and resolves once its ACME directory and management API
 * answer over HTTPS.
 *
 * Every port is picked free, the TLS certificate is generated in a fresh temporary directory,
 * and DNS-01 validation goes to `options.dnsServer`.
 *
 * @throws Error if the binary is missing (with the command that installs it), if Pebble exits
 * before it is ready (with its output), or if it is not ready within 20 s.
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const bin = process.env.PEBBLE_BIN ?? DEFAULT_PEBBLE_BIN;
  try {
    await access(bin, constants.X_OK);
  } catch (error) {
    throw new Error(`Pebble not found at ${bin}: install it with apt-get install -y pebble`, {
      cause: error,
    });
  }

  const dir = await mkdtemp(join(tmpdir(), 'pebble-'));
  const removeDir = (): Promise<void> => rm(dir, { recursive: true, force: true });
  let tls: TlsFiles;
  let ports: number[];
  try {
    tls = await generateTls(dir);
    ports = await distinctFreePorts(4);
  } catch (error) {
    await removeDir();
    throw error;
  }
  const [acmePort, managementPort, httpPort, tlsPort] = ports as [number, number, number, number];

  const eab = options.externalAccountBinding;
  const config = {
    pebble: {
      listenAddress: `${HOST}:${acmePort}`,
      managementListenAddress: `${HOST}:${managementPort}`,
      certificate: tls.certificatePath,
      privateKey: tls.privateKeyPath,
      // Only DNS-01 is used, but Pebble would otherwise default to 5002/5001.
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: eab !== undefined,
      ...(eab !== undefined ? { externalAccountMACKeys: eab } : {}),
      ...(options.certificateValidityPeriod !== undefined
        ? { certificateValidityPeriod: options.certificateValidityPeriod }
        : {}),
    },
  };
  const configPath = join(dir, 'pebble-config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const env = buildEnv(options);
  const output: string[] = [];
  const child = spawn(bin, ['-config', configPath, '-dnsserver', options.dnsServer], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  // If the test runner dies without calling stop(), do not leave an orphaned Pebble behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const logs = (): string => output.join('');
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null && spawnError === undefined) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, STOP_GRACE_MS))) {
          child.kill('SIGKILL');
          await waitForExit(child, STOP_GRACE_MS);
        }
      }
      await removeDir();
    })();
    return stopping;
  };

  const directoryUrl = `https://localhost:${acmePort}/dir`;
  const managementUrl = `https://localhost:${managementPort}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== undefined) {
      await stop();
      throw new Error(`cannot start Pebble at ${bin}: ${spawnError.message}`, {
        cause: spawnError,
      });
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `Pebble exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${logs()}`,
      );
    }
    try {
      await httpsGet(directoryUrl, tls.ca, 1_000);
      await httpsGet(`${managementUrl}/roots/0`, tls.ca, 1_000);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `Pebble was not ready at ${directoryUrl} within ${READY_TIMEOUT_MS} ms:\n${logs()}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const chainCount = 1 + Number(env.PEBBLE_ALTERNATE_ROOTS ?? 0);
  const getEach = (path: string): Promise<string[]> =>
    Promise.all(
      Array.from({ length: chainCount }, (_, i) =>
        httpsGet(`${managementUrl}/${path}/${i}`, tls.ca),
      ),
    );

  return {
    directoryUrl,
    managementUrl,
    tlsCaPath: tls.caPath,
    tlsCa: tls.ca,
    tlsCertificatePath: tls.certificatePath,
    tlsPrivateKeyPath: tls.privateKeyPath,
    roots: () => getEach('roots'),
    intermediates: () => getEach('intermediates'),
    certStatus: async (serialHex) =>
      JSON.parse(
        await httpsGet(
          `${managementUrl}/cert-status-by-serial/${encodeURIComponent(serialHex)}`,
          tls.ca,
        ),
      ) as unknown,
    logs,
    stop,
  };
}
