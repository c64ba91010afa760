import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  /**
   * Port for both UDP and TCP on 127.0.0.1.
   * @default 0 - a port free for both transports is picked
   */
  readonly port?: number;
  /**
   * Returns the TXT values at a name: unquoted, one TXT string each. The name is lower-case
   * without the trailing dot. Called on every TXT query, so it sees the current state.
   */
  readonly lookupTxt: (fqdn: string) => string[];
  /**
   * The CNAME target at a name, if any (lower-case, no trailing dot, like the name passed). A
   * name with a CNAME has no other data (RFC 1034 §3.6.2): a query of another type there is
   * answered with the CNAME, then the records of that type at the target, following the chain
   * within this server's own data (RFC 1034 §4.3.2, step 3.a). Called on every query.
   * @default - no CNAMEs
   */
  readonly lookupCname?: (fqdn: string) => string | undefined;
  /**
   * IPv4 addresses at a name, e.g. the emulator's load balancer names. Called on every A query.
   * @default - no A records (NODATA)
   */
  readonly lookupA?: (fqdn: string) => string[];
}

/** A question the server received, for tests that assert what a client looked up. */
export interface DnsQuery {
  /** Lower-case, without the trailing dot. */
  readonly name: string;
  /** Record type as dns-packet names it: `TXT`, `CAA`, `A` ... */
  readonly type: string;
}

/** A running DNS server started by {@link startDnsServer}. */
export interface DnsServer {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, the form Pebble's `-dnsserver` and `Resolver.setServers` take. */
  readonly address: string;
  /** Every question received so far, in order. */
  readonly queries: ReadonlyArray<DnsQuery>;
  /** Stops both listeners and drops open TCP connections; safe to call twice. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const TTL_SECONDS = 0;
/** RFC 1035 limit for a UDP answer when the query carries no EDNS0 OPT record. */
const CLASSIC_UDP_SIZE = 512;
/** Upper bound on what we trust a client's EDNS0 buffer size to be (DNS flag day 2020). */
const MAX_UDP_SIZE = 1232;
/** A TXT character-string holds at most 255 bytes (RFC 1035 §3.3). */
const TXT_CHUNK_BYTES = 255;
const RCODE_SERVFAIL = 2;
const RCODE_NOTIMP = 4;

/** Splits one value into the ≤255-byte character-strings of a single TXT record. */
function txtChunks(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) {
    return [bytes];
  }
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += TXT_CHUNK_BYTES) {
    chunks.push(bytes.subarray(offset, offset + TXT_CHUNK_BYTES));
  }
  return chunks;
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function optRecord(): Answer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: MAX_UDP_SIZE,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** Longest CNAME chain followed; a longer one (or a loop) ends where it stands. */
const MAX_CNAME_CHAIN = 8;

type Lookups = Pick<DnsServerOptions, 'lookupTxt' | 'lookupCname' | 'lookupA'>;

/** The records answering one question: CNAMEs first (the chain), then the asked type's. */
function answersFor(question: Question, name: string, lookups: Lookups): Answer[] {
  const answers: Answer[] = [];
  let owner = question.name;
  let current = name;
  const seen = new Set<string>([current]);
  for (let hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
    const target = lookups.lookupCname?.(current);
    if (target === undefined) break;
    const next = normaliseName(target);
    answers.push({ type: 'CNAME', name: owner, class: 'IN', ttl: TTL_SECONDS, data: next });
    // A CNAME question is answered by the CNAME itself, not by what it points to.
    if (question.type === 'CNAME' || seen.has(next)) return answers;
    seen.add(next);
    owner = next;
    current = next;
  }
  if (question.type === 'TXT') {
    for (const value of lookups.lookupTxt(current)) {
      answers.push({
        type: 'TXT',
        name: owner,
        class: 'IN',
        ttl: TTL_SECONDS,
        data: txtChunks(value),
      });
    }
  } else if (question.type === 'A') {
    for (const address of lookups.lookupA?.(current) ?? []) {
      answers.push({ type: 'A', name: owner, class: 'IN', ttl: TTL_SECONDS, data: address });
    }
  }
  return answers;
}

/**
 * Builds the answer to one query: TXT, A and CNAME from the lookups, anything else NOERROR with
 * no answers (NODATA): Pebble looks up CAA for every name, and REFUSED or NXDOMAIN there would
 * fail issuance.
 */
function answer(
  query: Packet & { opcode?: string },
  lookups: Lookups,
  record: (q: DnsQuery) => void,
): Packet {
  const questions: Question[] = query.questions ?? [];
  const hasOpt = (query.additionals ?? []).some((a) => a.type === 'OPT');
  const response: Packet = {
    type: 'response',
    id: query.id ?? 0,
    // Echo RD as RFC 1035 asks; we never recurse, so RA stays clear.
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
    questions,
    answers: [],
    additionals: hasOpt ? [optRecord()] : [],
  };
  if (query.opcode !== undefined && query.opcode !== 'QUERY') {
    response.flags = (response.flags ?? 0) | RCODE_NOTIMP;
    return response;
  }
  const answers: Answer[] = [];
  try {
    for (const question of questions) {
      const name = normaliseName(question.name);
      record({ name, type: question.type });
      answers.push(...answersFor(question, name, lookups));
    }
  } catch {
    // A broken lookup must look like a server failure, not like an absent record.
    response.flags = (response.flags ?? 0) | RCODE_SERVFAIL;
    return response;
  }
  response.answers = answers;
  return response;
}

/** Largest UDP answer this query allows: its EDNS0 size if any, else the classic 512. */
function udpLimit(query: Packet): number {
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  if (opt === undefined || !('udpPayloadSize' in opt)) {
    return CLASSIC_UDP_SIZE;
  }
  return Math.min(Math.max(opt.udpPayloadSize, CLASSIC_UDP_SIZE), MAX_UDP_SIZE);
}

async function bindUdp(port: number): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, HOST, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

async function listenTcp(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Binds UDP first (port 0 lets the kernel choose), then TCP on the same number, retrying with
 * a new UDP port when TCP is taken: binding both ourselves avoids the race of probing a port
 * and handing it over.
 */
async function bindBoth(port: number, tcp: Server): Promise<UdpSocket> {
  const attempts = port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const udp = await bindUdp(port);
    try {
      await listenTcp(tcp, udp.address().port);
      return udp;
    } catch (error) {
      lastError = error;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  }
  throw new Error(`cannot bind DNS server on ${HOST}:${port} for UDP and TCP`, {
    cause: lastError,
  });
}

/**
 * Starts a tiny authoritative DNS server on 127.0.0.1 over UDP and TCP.
 *
 * TXT questions are answered from `lookupTxt`, A from `lookupA`, and a name with a CNAME from
 * `lookupCname` (the CNAME, then the target's records), all with TTL 0 (so a changed value is
 * seen at once) and the AA flag; every other type, for any name, is NODATA. UDP answers too large for the
 * client's buffer come back truncated so that the client retries over TCP, as Go's resolver
 * (Pebble's) and c-ares (Node's) do.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const queries: DnsQuery[] = [];
  const record = (q: DnsQuery): void => {
    queries.push(q);
  };
  const connections = new Set<Socket>();

  const tcp = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    // A broken client connection must not take the server down.
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) {
          break;
        }
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        let query: Packet;
        try {
          query = dnsPacket.decode(message);
        } catch {
          socket.destroy();
          return;
        }
        socket.write(dnsPacket.streamEncode(answer(query, options, record)));
      }
    });
  });

  const udp = await bindBoth(options.port ?? 0, tcp);
  udp.on('message', (message: Buffer, remote: RemoteInfo) => {
    let query: Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      // Not DNS: nothing sensible to answer, and no id to answer with.
      return;
    }
    const response = answer(query, options, record);
    let encoded = dnsPacket.encode(response);
    if (encoded.length > udpLimit(query)) {
      encoded = dnsPacket.encode({
        ...response,
        flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
        answers: [],
      });
    }
    udp.send(encoded, remote.port, remote.address);
  });

  const port = udp.address().port;
  let closing: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    address: `${HOST}:${port}`,
    queries,
    close(): Promise<void> {
      closing ??= (async () => {
        for (const socket of connections) {
          socket.destroy();
        }
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      })();
      return closing;
    },
  };
}
