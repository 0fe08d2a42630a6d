import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { InvalidRelayConfigError } from './config/errors.ts'
import type { ComponentLogger, Libp2pEvents, Logger, TLSCertificate } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** The PEM files of `TLS_CERT` and `TLS_KEY`. */
export interface TlsFiles {
  certFile: string
  keyFile: string
}

/** A certificate and its key, read from their files and checked to belong together. */
export interface LoadedCertificate extends TLSCertificate {
  /** SHA-256 fingerprint of the leaf certificate, `AA:BB:…`. */
  fingerprint256: string
  /** End of the leaf certificate's validity. */
  validTo: Date
}

/**
 * Reads and checks the certificate and key; throws `InvalidRelayConfigError`
 * naming the file when one cannot be read, is not PEM of the right kind, or
 * the key is not the certificate's.
 */
export function loadCertificate(files: TlsFiles): LoadedCertificate {
  const read = (name: string, file: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new InvalidRelayConfigError(`${name}: cannot read ${file} (${(err as Error).message})`)
    }
  }
  const cert = read('TLS_CERT (--tls-cert)', files.certFile)
  const key = read('TLS_KEY (--tls-key)', files.keyFile)
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new InvalidRelayConfigError(
      `TLS_CERT (--tls-cert): ${files.certFile} is not a PEM certificate (${(err as Error).message})`
    )
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    throw new InvalidRelayConfigError(
      `TLS_KEY (--tls-key): ${files.keyFile} is not an unencrypted PEM private key (${(err as Error).message})`
    )
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new InvalidRelayConfigError(
      `TLS_KEY (--tls-key): ${files.keyFile} is not the private key of the certificate in ${files.certFile}`
    )
  }
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new InvalidRelayConfigError(
      `TLS_CERT (--tls-cert): ${files.certFile} cannot be used for TLS (${(err as Error).message})`
    )
  }
  return { cert, key, fingerprint256: x509.fingerprint256, validTo: new Date(x509.validTo) }
}

/** What {@link CertificateWatcher} reports: a renewed certificate in use, or files it could not use (yet). */
export type CertificateChange =
  { type: 'renewed'; certificate: LoadedCertificate } | { type: 'rejected'; error: Error }

export interface CertificateWatcherInit {
  files: TlsFiles
  /** The certificate in use now (loaded at start). */
  current: LoadedCertificate
  /** Called with each certificate that replaces the current one. */
  onChange: (change: CertificateChange) => void
  /** How often the files' metadata is checked, in ms. @default 2000 */
  intervalMs?: number
}

/**
 * Re-reads the certificate and key when either file changes (by stat polling,
 * which survives the rename-into-place and symlink swaps of certbot and Caddy).
 * A renewal replaces both files one after the other: a half-written or
 * mismatched pair is reported and the current certificate stays until the
 * pair is complete.
 */
export class CertificateWatcher {
  private readonly init: CertificateWatcherInit
  private current: LoadedCertificate
  private readonly listener = (): void => this.check()

  constructor(init: CertificateWatcherInit) {
    this.init = init
    this.current = init.current
  }

  start(): void {
    const options = { interval: this.init.intervalMs ?? 2000, persistent: false }
    watchFile(this.init.files.certFile, options, this.listener)
    watchFile(this.init.files.keyFile, options, this.listener)
  }

  stop(): void {
    unwatchFile(this.init.files.certFile, this.listener)
    unwatchFile(this.init.files.keyFile, this.listener)
  }

  private check(): void {
    let next: LoadedCertificate
    try {
      next = loadCertificate(this.init.files)
    } catch (err) {
      this.init.onChange({ type: 'rejected', error: err as Error })
      return
    }
    // both files changing in one polling round calls this twice
    if (next.cert === this.current.cert && next.key === this.current.key) return
    this.current = next
    this.init.onChange({ type: 'renewed', certificate: next })
  }
}

export interface TlsRenewalComponents {
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** Hands a renewed certificate to libp2p's transports. */
export interface TlsRenewal {
  renew(certificate: TLSCertificate): void
}

/**
 * A libp2p service that announces a renewed certificate the way
 * `@libp2p/auto-tls` does (`certificate:renew`): the WebSockets listener then
 * serves new connections with it, existing ones are kept.
 */
export function tlsRenewal(): (components: TlsRenewalComponents) => TlsRenewal {
  return components => {
    const log: Logger = components.logger.forComponent('marketplace:tls-renewal')
    return {
      renew(certificate) {
        log('handing a renewed certificate to the transports')
        components.events.safeDispatchEvent('certificate:renew', {
          detail: { cert: certificate.cert, key: certificate.key }
        })
      }
    }
  }
}

/**
 * Serves renewed certificate files on both ports: new HTTPS connections (`server`) and new WSS
 * connections (`renewal`) get the new certificate, open ones stay. Started; undefined without TLS.
 */
export function watchCertificate(
  files: TlsFiles | undefined,
  current: LoadedCertificate | undefined,
  targets: {
    server: { setSecureContext: (options: { cert: string; key: string }) => void }
    renewal: Pick<TlsRenewal, 'renew'>
    onChange?: (change: CertificateChange) => void
  }
): CertificateWatcher | undefined {
  if (files == null || current == null) return undefined
  const watcher = new CertificateWatcher({
    files,
    current,
    onChange: change => {
      if (change.type === 'renewed') {
        const { cert, key } = change.certificate
        targets.server.setSecureContext({ cert, key })
        targets.renewal.renew({ cert, key })
      }
      targets.onChange?.(change)
    }
  })
  watcher.start()
  return watcher
}
