import { describe, expect, test } from 'vitest'
import { publicOnlyFetch } from '../../relay/name-proof-fetch.ts'

describe("the relay's fetch of publisher lists", () => {
  test('a name that resolves to this machine is refused before any connection (SSRF)', async () => {
    // localhost resolves from /etc/hosts: no DNS query leaves the machine
    await expect(
      publicOnlyFetch()('https://localhost/.well-known/p2p-marketplace.json', {
        signal: AbortSignal.timeout(5_000),
        redirect: 'error'
      })
    ).rejects.toThrow(/localhost resolves to (127\.0\.0\.1|::1), which is not a public address/)
  })

  test('only https is read', async () => {
    await expect(
      publicOnlyFetch()('http://example.com/.well-known/p2p-marketplace.json', {
        signal: AbortSignal.timeout(5_000),
        redirect: 'error'
      })
    ).rejects.toThrow(/is not https/)
  })
})
