/** Defence in depth: no private key block leaves the function in a log line, error or report. */
const PRIVATE_KEY_BLOCK =
  /-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END[A-Z ]*PRIVATE KEY-----|$)/g;

/** Replaces any private key block (even a truncated one) in `text`. */
export function redact(text: string): string {
  return text.replace(PRIVATE_KEY_BLOCK, '[private key redacted]');
}
