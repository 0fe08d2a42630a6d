import { describe, expect, test } from 'vitest'
import { PublicOrigins } from '../../relay/public-origins.ts'
import type { IncomingMessage } from 'node:http'

const request = (headers: Record<string, string>): IncomingMessage =>
  ({ headers }) as unknown as IncomingMessage

describe('the relay’s public origins', () => {
  const local = new PublicOrigins({
    origins: ['http://127.0.0.1:8080', 'http://localhost:8080'],
    trustProxy: false,
    tls: false
  })

  test('an origin is the relay’s own only when configured, whatever Host says', () => {
    expect(local.has('http://127.0.0.1:8080')).toBe(true)
    expect(local.has('http://localhost:8080')).toBe(true)
    expect(local.has('http://evil.test:8080')).toBe(false)
    expect(local.has('https://127.0.0.1:8080')).toBe(false)
  })

  test('URLs are built for the public origin named by Host, else for the first', () => {
    expect(local.forRequest(request({ host: 'localhost:8080' }))).toBe('http://localhost:8080')
    expect(local.forRequest(request({ host: '127.0.0.1:8080' }))).toBe('http://127.0.0.1:8080')
    // a rebound DNS name gets the relay's own origin, not its own name back
    expect(local.forRequest(request({ host: 'evil.test:8080' }))).toBe('http://127.0.0.1:8080')
    expect(local.forRequest(request({}))).toBe('http://127.0.0.1:8080')
    expect(local.forRequest(request({ host: 'localhost:8080/x@y' }))).toBe('http://127.0.0.1:8080')
    // without TRUST_PROXY, forwarded headers are anyone's to forge
    expect(
      local.forRequest(
        request({ host: '127.0.0.1:8080', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'localhost:8080' })
      )
    ).toBe('http://127.0.0.1:8080')
  })

  test('behind a proxy: X-Forwarded-Proto/-Host count when they name a public origin', () => {
    const proxied = new PublicOrigins({
      origins: ['https://market.test', 'https://www.market.test'],
      trustProxy: true,
      tls: false
    })
    const forwarded = (proto: string, host: string): string =>
      proxied.forRequest(
        request({ host: '127.0.0.1:8080', 'x-forwarded-proto': proto, 'x-forwarded-host': host })
      )
    expect(forwarded('https', 'www.market.test')).toBe('https://www.market.test')
    expect(forwarded('https', 'market.test:443')).toBe('https://market.test')
    // a chain of proxies: the first entry is what the browser used
    expect(forwarded('https, http', 'www.market.test, relay.internal:8080')).toBe('https://www.market.test')
    // forwarded values naming no public origin are ignored
    expect(forwarded('https', 'evil.test')).toBe('https://market.test')
    expect(forwarded('http', 'www.market.test')).toBe('https://market.test')
    expect(forwarded('gopher', 'www.market.test')).toBe('https://market.test')
  })

  test('with TLS a direct request is https', () => {
    const direct = new PublicOrigins({
      origins: ['https://127.0.0.1:8443', 'https://localhost:8443'],
      trustProxy: false,
      tls: true
    })
    expect(direct.forRequest(request({ host: 'localhost:8443' }))).toBe('https://localhost:8443')
  })
})
