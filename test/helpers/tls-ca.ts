// A private CA made with openssl, as the README shows: a CA, a server certificate it signs for
// 127.0.0.1 and localhost, and a second CA that signed nothing here (the wrong one).
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.js';

export interface TestPki {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  wrongCa: string;
}

export async function makePki(): Promise<TestPki> {
  const dir = tempDir('zs-pki-');
  const f = (n: string) => join(dir, n);
  const ssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'wrong-ca']) {
    await ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=zonescope test ${ca}`, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`)]);
  }
  await ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr')]);
  writeFileSync(f('server.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n');
  await ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.crt')]);
  return { dir, ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key'), wrongCa: f('wrong-ca.crt') };
}
