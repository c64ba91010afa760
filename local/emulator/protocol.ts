/**
 * Wire-protocol helpers shared by the emulated services: the error type every
 * handler throws, XML rendering for REST-XML and Query, form decoding for
 * Query, and small id generators.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** The four emulated services, as recorded in {@link CallRecord}. */
export type ServiceName = 'route53' | 'secretsmanager' | 'acm' | 'elbv2' | 'sts' | 'events';

/**
 * An error answered in the calling service's own wire shape. `code` is the
 * wire code (`ListenerNotFound`, `ResourceNotFoundException`, ...), which the
 * SDK maps to its exception class.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * A value rendered as XML. An object renders each key as a child element; an
 * array under key K renders as repeated `<K>` elements, so Query lists are
 * written `{ Listeners: { member: [...] } }` and Route 53 lists
 * `{ HostedZones: { HostedZone: [...] } }`. `undefined` omits the element.
 */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | null
  | XmlValue[]
  | { [key: string]: XmlValue };

/** Escapes text content; quotes stay literal because TXT values carry them. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function renderChildren(value: { [key: string]: XmlValue }): string {
  let out = '';
  for (const [key, child] of Object.entries(value)) {
    if (Array.isArray(child)) {
      for (const item of child) out += xmlElement(key, item);
    } else {
      out += xmlElement(key, child);
    }
  }
  return out;
}

/** Renders one element; see {@link XmlValue} for the mapping. */
export function xmlElement(name: string, value: XmlValue, attributes = ''): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => xmlElement(name, item)).join('');
  let inner: string;
  if (value instanceof Date) inner = value.toISOString();
  else if (typeof value === 'object') inner = renderChildren(value);
  else inner = escapeXml(String(value));
  return `<${name}${attributes}>${inner}</${name}>`;
}

/** A full XML document whose root element carries the service namespace. */
export function xmlDocument(root: string, namespace: string, body: { [key: string]: XmlValue }) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xmlElement(root, body, ` xmlns="${namespace}"`)}`;
}

/**
 * The error document of Query and REST-XML services, as ELBv2 and Route 53
 * send it; the SDK reads `Error.Code`.
 */
export function xmlErrorDocument(namespace: string, error: ApiError, requestId: string): string {
  return xmlDocument('ErrorResponse', namespace, {
    Error: {
      Type: error.status >= 500 ? 'Receiver' : 'Sender',
      Code: error.code,
      Message: error.message,
    },
    RequestId: requestId,
  });
}

/** Decodes an `application/x-www-form-urlencoded` body into a flat map. */
export function parseForm(body: string): Map<string, string> {
  const params = new URLSearchParams(body);
  return new Map(params.entries());
}

/**
 * Reads a Query list such as `Certificates.member.1.CertificateArn`: returns
 * the values of `<prefix>.member.<n>[.<field>]` in index order.
 */
export function queryList(form: Map<string, string>, prefix: string, field?: string): string[] {
  const found: Array<[number, string]> = [];
  const pattern = new RegExp(
    `^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)${field ? `\\.${field}` : ''}$`,
  );
  for (const [key, value] of form) {
    const match = pattern.exec(key);
    if (match?.[1]) found.push([Number(match[1]), value]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random characters from an alphabet; ids need not be cryptographic. */
export function randomChars(length: number, alphabet = UPPER_ALNUM): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** Six mixed-case characters, the suffix Secrets Manager appends to ARNs. */
export function secretSuffix(): string {
  return randomChars(6, ALNUM);
}

/** Lower-case hex of the given byte length (ELBv2 ids are 8 bytes). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export { randomUUID };

/**
 * Reads `start`/`limit` pagination encoded as an opaque token, so tokens from
 * one operation are not mistaken for plain numbers by callers.
 */
export function decodeToken(
  token: string | undefined,
  errorCode = 'InvalidNextTokenException',
): number {
  if (token === undefined || token === '') return 0;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const offset = text.startsWith('o:') ? Number(text.slice(2)) : Number.NaN;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ApiError(errorCode, `The pagination token is invalid: ${token}`);
  }
  return offset;
}

/** The opposite of {@link decodeToken}. */
export function encodeToken(offset: number): string {
  return Buffer.from(`o:${offset}`, 'utf8').toString('base64url');
}
