/**
 * Checks a stored certificate before it is trusted: the private key must belong to the leaf
 * certificate (a secret edited by hand, or a key from another certificate, would import into
 * ACM only to fail there, or be served nowhere). Never quotes either in a message.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { StoredCertificate } from './types.js';

/** Why the stored certificate cannot be trusted, or undefined when it can. */
export function checkStored(stored: StoredCertificate): string | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(stored.certificate);
  } catch {
    return 'the stored certificate is not a readable PEM certificate';
  }
  let publicFromKey: string;
  try {
    publicFromKey = createPublicKey(createPrivateKey(stored.privateKey))
      .export({ type: 'spki', format: 'der' })
      .toString('base64');
  } catch {
    return 'the stored private key is not a readable PEM key';
  }
  const publicFromCert = leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  if (publicFromKey !== publicFromCert) {
    return 'the stored private key does not match its certificate';
  }
  return undefined;
}
