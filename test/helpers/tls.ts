import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A throwaway self-signed certificate for 127.0.0.1 and localhost (P-256), valid for a day. */
export interface TestCertificate {
  certFile: string
  keyFile: string
  cert: string
  /** SHA-256 fingerprint, `AA:BB:…` (as `getPeerCertificate().fingerprint256` spells it). */
  fingerprint256: string
}

/** Writes `<name>.crt` and `<name>.key` into `dir` with openssl. */
export async function selfSignedCertificate(dir: string, name = 'relay'): Promise<TestCertificate> {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile
  ])
  const cert = await readFile(certFile, 'utf8')
  return { certFile, keyFile, cert, fingerprint256: new X509Certificate(cert).fingerprint256 }
}

/** The fingerprint of the certificate a TLS server at `127.0.0.1:port` presents to a new connection. */
export async function servedFingerprint(port: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fingerprint)
    })
    socket.once('error', reject)
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no TLS handshake from 127.0.0.1:${port}`)))
  })
}
