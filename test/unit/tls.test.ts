import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { InvalidRelayConfigError } from '../../relay/config/errors.ts'
import { CertificateWatcher, loadCertificate } from '../../relay/tls.ts'
import { waitUntil } from '../helpers/relay.ts'
import type { CertificateChange } from '../../relay/tls.ts'
import { selfSignedCertificate } from '../helpers/tls.ts'
import type { TestCertificate } from '../helpers/tls.ts'

describe('loading TLS_CERT and TLS_KEY', () => {
  let dir: string
  let a: TestCertificate
  let b: TestCertificate
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-tls-unit-'))
    ;[a, b] = await Promise.all([selfSignedCertificate(dir, 'a'), selfSignedCertificate(dir, 'b')])
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('a matching pair loads, with its fingerprint and expiry', () => {
    const loaded = loadCertificate({ certFile: a.certFile, keyFile: a.keyFile })
    expect(loaded.cert).toBe(a.cert)
    expect(loaded.fingerprint256).toBe(a.fingerprint256)
    expect(loaded.validTo.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000)
  })

  test('an unreadable file, a non-PEM file, and a key of another certificate are refused naming the file', async () => {
    const expectRefusal = (files: { certFile: string; keyFile: string }, message: RegExp): void => {
      expect(() => loadCertificate(files)).toThrow(InvalidRelayConfigError)
      expect(() => loadCertificate(files)).toThrow(message)
    }
    const missing = join(dir, 'missing.crt')
    expectRefusal(
      { certFile: missing, keyFile: a.keyFile },
      new RegExp(`^TLS_CERT \\(--tls-cert\\): cannot read ${missing}`)
    )
    expectRefusal(
      { certFile: a.certFile, keyFile: missing },
      /^TLS_KEY \(--tls-key\): cannot read .*missing\.crt/
    )
    const garbage = join(dir, 'garbage.pem')
    await writeFile(garbage, 'not a certificate\n')
    expectRefusal(
      { certFile: garbage, keyFile: a.keyFile },
      /TLS_CERT \(--tls-cert\): .*garbage\.pem is not a PEM certificate/
    )
    expectRefusal(
      { certFile: a.certFile, keyFile: garbage },
      /TLS_KEY \(--tls-key\): .*garbage\.pem is not an unencrypted PEM private key/
    )
    // the certificate where the key belongs and vice versa
    expectRefusal({ certFile: a.keyFile, keyFile: a.keyFile }, /a\.key is not a PEM certificate/)
    expectRefusal(
      { certFile: a.certFile, keyFile: b.keyFile },
      /TLS_KEY \(--tls-key\): .*b\.key is not the private key of the certificate in .*a\.crt/
    )
  })

  test('renewed files: a half-replaced pair is reported and not used, the complete pair replaces the certificate', async () => {
    const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') }
    await copyFile(a.certFile, live.certFile)
    await copyFile(a.keyFile, live.keyFile)
    const changes: CertificateChange[] = []
    const watcher = new CertificateWatcher({
      files: live,
      current: loadCertificate(live),
      intervalMs: 50,
      onChange: change => changes.push(change)
    })
    watcher.start()
    try {
      await copyFile(b.certFile, live.certFile)
      await waitUntil('the mismatched pair reported', () => changes.length > 0, 5_000)
      expect(changes[0]).toMatchObject({ type: 'rejected' })
      expect(changes[0]?.type === 'rejected' && changes[0].error.message).toMatch(/is not the private key/)
      await copyFile(b.keyFile, live.keyFile)
      await waitUntil('the renewed pair used', () => changes.some(c => c.type === 'renewed'), 5_000)
      const renewed = changes.filter(c => c.type === 'renewed')
      expect(renewed).toHaveLength(1)
      expect(renewed[0]?.type === 'renewed' && renewed[0].certificate.fingerprint256).toBe(b.fingerprint256)
    } finally {
      watcher.stop()
    }
  })
})
