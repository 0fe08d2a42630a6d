import { describe, expect, test } from 'vitest'
import { classifyDialError, explainDialError } from '../../src/core/network/dial-errors.ts'
import { judgeIceCheck } from '../../src/core/network/ice-check.ts'

const TURN = 'turn:turn.example.com:3478?transport=udp'
const SERVERS = [{ urls: ['stun:turn.example.com:3478', TURN], username: 'u', credential: 'c' }]
const authFailed = judgeIceCheck(SERVERS, ['host', 'srflx'], [{ url: TURN, code: 401, text: 'Unauthorized' }])
const working = judgeIceCheck(SERVERS, ['host', 'srflx', 'relay'], [])

describe('explaining a failed direct dial', () => {
  test.each(['timeout', 'ice-failed'] as const)(
    '%s without ICE servers: no-ice-servers, with the fix',
    errorClass => {
      expect(explainDialError(errorClass, { iceServerCount: 0, localOnly: false })).toEqual({
        errorClass: 'no-ice-servers',
        hint: 'no STUN/TURN servers configured: peers on different networks cannot connect directly; see ICE_SERVERS'
      })
    }
  )

  test('without ICE servers but every relay on this machine, so every peer too: not the cause', () => {
    expect(explainDialError('timeout', { iceServerCount: 0, localOnly: true })).toBeUndefined()
  })

  test('after the ICE check saw TURN refuse the credentials: turn-auth-failed, with the server’s answer', () => {
    expect(explainDialError('ice-failed', { iceServerCount: 1, localOnly: false, ice: authFailed })).toEqual({
      errorClass: 'turn-auth-failed',
      hint: `TURN authentication failed: 401 Unauthorized at ${TURN}`
    })
  })

  test('nothing known: no explanation', () => {
    expect(explainDialError('timeout', { iceServerCount: 1, localOnly: false, ice: working })).toBeUndefined()
    expect(explainDialError('timeout', { iceServerCount: 1, localOnly: false })).toBeUndefined()
  })

  test('other classes have causes of their own', () => {
    const cls = classifyDialError(new Error('failed to connect via relay with status NO_RESERVATION'))
    expect(explainDialError(cls, { iceServerCount: 0, localOnly: false, ice: authFailed })).toBeUndefined()
  })
})
