import { describe, expect, test } from 'vitest'
import { iceInfoFromStats, pathOf } from '../../src/core/network/ice-path.ts'
import type { StatsEntry } from '../../src/core/network/ice-path.ts'

/** A Chromium-shaped stats report: a transport naming its selected pair, the pair and its candidates. */
function chromiumStats(local: string, remote: string): StatsEntry[] {
  return [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1' },
    { id: 'CP0', type: 'candidate-pair', localCandidateId: 'L0', remoteCandidateId: 'R0', state: 'failed' },
    {
      id: 'CP1',
      type: 'candidate-pair',
      localCandidateId: 'L1',
      remoteCandidateId: 'R1',
      state: 'succeeded',
      nominated: true,
      currentRoundTripTime: 0.0123
    },
    { id: 'L0', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'R0', type: 'remote-candidate', candidateType: 'host' },
    { id: 'L1', type: 'local-candidate', candidateType: local, protocol: 'udp' },
    { id: 'R1', type: 'remote-candidate', candidateType: remote }
  ]
}

describe('ICE path', () => {
  test('relay wins over reflexive, reflexive over host', () => {
    expect(pathOf('host', 'host')).toBe('host')
    expect(pathOf('srflx', 'host')).toBe('srflx')
    expect(pathOf('host', 'prflx')).toBe('prflx')
    expect(pathOf('srflx', 'prflx')).toBe('srflx')
    expect(pathOf('srflx', 'relay')).toBe('relay')
    expect(pathOf('relay', 'host')).toBe('relay')
  })

  test('reads the pair the transport selected, not another pair', () => {
    expect(iceInfoFromStats(chromiumStats('srflx', 'srflx'))).toEqual({
      path: 'srflx',
      local: 'srflx',
      remote: 'srflx',
      protocol: 'udp',
      rttMs: 12
    })
    expect(iceInfoFromStats(chromiumStats('relay', 'prflx'))?.path).toBe('relay')
  })

  test('without a transport entry, the nominated succeeded pair (as Firefox reports it)', () => {
    const stats = chromiumStats('host', 'host').filter(e => e.type !== 'transport')
    expect(iceInfoFromStats(stats)).toMatchObject({ path: 'host', local: 'host', remote: 'host' })
  })

  test('no selected pair yet, or unknown candidate types: nothing, rather than a guess', () => {
    expect(iceInfoFromStats([])).toBeUndefined()
    expect(
      iceInfoFromStats(chromiumStats('srflx', 'srflx').filter(e => e.id !== 'CP1' && e.type !== 'transport'))
    ).toBeUndefined()
    expect(iceInfoFromStats(chromiumStats('bogus', 'host'))).toBeUndefined()
  })
})
