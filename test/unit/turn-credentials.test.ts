import { createHmac } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { iceServersFor, mintTurnCredentials } from '../../relay/turn-credentials.ts'

const turn = { secret: 'north-pole-coturn-secret', ttlSeconds: 3600 }

describe('TURN REST API credentials', () => {
  test('username is <unix expiry>:<suffix>, credential is base64 HMAC-SHA1 of it under the secret', () => {
    const now = Date.UTC(2026, 11, 3, 12, 0, 0, 700)
    const minted = mintTurnCredentials(turn, now, 'tab-1')
    const expiry = Math.floor(now / 1000) + 3600
    expect(minted.username).toBe(`${expiry}:tab-1`)
    expect(minted.expiresAt).toBe(expiry * 1000)
    // computed independently, as coturn's use-auth-secret does
    const expected = createHmac('sha1', turn.secret).update(`${expiry}:tab-1`).digest('base64')
    expect(minted.credential).toBe(expected)
    // and a fixed vector, from `printf %s 1796302800:tab-1 | openssl dgst -sha1 -hmac <secret> -binary | base64`
    expect(minted.username).toBe('1796302800:tab-1')
    expect(minted.credential).toBe('G6QSu+GNLJwuiiW9GN/8SBAiPAs=')
  })

  test('each minting gets its own random suffix, with no separator coturn would split on', () => {
    const now = Date.now()
    const a = mintTurnCredentials(turn, now)
    const b = mintTurnCredentials(turn, now)
    expect(a.username).not.toBe(b.username)
    for (const { username } of [a, b]) {
      const [expiry, suffix, ...rest] = username.split(':')
      expect(rest).toEqual([])
      expect(Number(expiry)).toBe(Math.floor(now / 1000) + 3600)
      expect(suffix).toMatch(/^[\w-]{12}$/)
    }
  })

  test('ICE servers in RTCIceServer shape: STUN alone, TURN with fresh credentials, the secret nowhere', () => {
    const now = Date.now()
    const servers = iceServersFor(
      {
        urls: ['stun:stun.example.com', 'turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com'],
        turn: { ...turn, ttlSeconds: 600 }
      },
      now
    )
    expect(servers).toEqual([
      { urls: ['stun:stun.example.com'] },
      {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com'],
        username: expect.stringMatching(/^\d+:/) as string,
        credential: expect.any(String) as string
      }
    ])
    const { username = '', credential } = servers[1] ?? {}
    expect(Number(username.split(':')[0])).toBe(Math.floor(now / 1000) + 600)
    expect(credential).toBe(createHmac('sha1', turn.secret).update(username).digest('base64'))
    expect(JSON.stringify(servers)).not.toContain(turn.secret)
    expect(iceServersFor(undefined)).toEqual([])
    expect(iceServersFor({ urls: ['stun:a.test'] })).toEqual([{ urls: ['stun:a.test'] }])
  })
})
