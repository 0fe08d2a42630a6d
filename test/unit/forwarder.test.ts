import { describe, expect, test } from 'vitest'
import { InvalidRelayConfigError, parseHeaders } from '../../relay/config.ts'
import { UpstreamForwarder, checkUpstreamHeaders, redactSecrets } from '../../relay/collector/forwarder.ts'

const SECRET = 'Bearer sk-live-4f9a2c'

describe('upstream credentials', () => {
  test('a header value with a control character is refused at start-up, naming the header only', () => {
    for (const value of [`${SECRET}\n`, `${SECRET}\r\nx: y`, `${SECRET}\u0000`, `${SECRET}€`]) {
      expect(() => checkUpstreamHeaders({ authorization: value })).toThrow(/header "authorization"/)
      expect(
        () => new UpstreamForwarder({ url: 'http://127.0.0.1:1/', headers: { authorization: value } })
      ).toThrow(/authorization/)
      let message = ''
      try {
        parseHeaders(`authorization=${encodeURIComponent(value)}`)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidRelayConfigError)
        message = (err as Error).message
      }
      expect(message).toMatch(/OTEL_EXPORTER_OTLP_HEADERS: .*"authorization"/)
      expect(message).not.toContain('sk-live')
    }
    expect(() => parseHeaders('authorization=%E0%A4%A')).toThrow(/"authorization" is not valid URL encoding/)
    expect(() => parseHeaders('Authorization Bearer sk-live-4f9a2c')).not.toThrow(/sk-live/)
    expect(() => checkUpstreamHeaders({ authorization: SECRET, 'x-team': 'a\tb' })).not.toThrow()
  })

  test('what fetch says about a header it refuses is redacted, as are URL credentials', async () => {
    // the message undici gives for exactly the value that leaked into /healthz before
    let message = ''
    try {
      await fetch('http://127.0.0.1:1/', { headers: { authorization: `${SECRET}\nx-evil: 1` } })
    } catch (err) {
      message = String((err as Error).message)
    }
    expect(message).toContain('sk-live')
    const redacted = redactSecrets(message, { authorization: `${SECRET}\nx-evil: 1` })
    expect(redacted).not.toContain('sk-live')
    expect(redacted).toContain('[redacted]')
    expect(
      redactSecrets(
        'failed: https://user:pa55word@up.example/v1/traces?api_key=k3y-123',
        {},
        'https://user:pa55word@up.example/v1/traces?api_key=k3y-123'
      )
    ).toBe('failed: https://[redacted]:[redacted]@up.example/v1/traces?api_key=[redacted]')
    // short values are not credentials; redacting them would mangle messages
    expect(redactSecrets('HTTP 503', { 'x-n': '5' })).toBe('HTTP 503')
  })
})
