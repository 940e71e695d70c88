// Trusting a server's TLS certificate: a private CA from a file (--ca), and errors that say what
// to do when the certificate is not trusted instead of OpenSSL's words alone. Used by the agent's
// link and the CLI's clients.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';

/** Reads a PEM file of one or more CA certificates; the error names the flag and the file. */
export function loadCa(file: string, flag = '--ca'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${flag}: cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`${flag}: '${file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new Error(`${flag}: '${file}' holds a certificate that does not parse: ${(e as Error).message}`);
    }
  }
  return text;
}

// OpenSSL's verification failures that a trusted CA (or the right name) would fix
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** One line for a failed connection: a certificate problem says which and what to do. `tls` is
 * true when the server's certificate is the problem (retrying will not fix it by itself). */
export function explainConnectError(e: unknown): { message: string; tls: boolean } {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  // fetch wraps the socket's error; ws and https hand it over as is
  const inner = err?.cause && typeof err.cause === 'object' ? err.cause : err;
  const code = inner?.code ?? '';
  const words = inner?.message || code || String(e);
  if (UNTRUSTED.has(code)) return { tls: true, message: `the server's certificate is not trusted (${code}: ${words}); give --ca FILE with the CA that signed it` };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { tls: true, message: `the server's certificate is not for this address (${words}); connect by a name the certificate holds` };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { tls: true, message: `the server's certificate is not valid now (${code}: ${words})` };
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(words)) return { tls: true, message: `the server does not speak TLS there (${words}); use http:// or start the server with --tls-cert/--tls-key` };
  return { tls: false, message: words };
}
