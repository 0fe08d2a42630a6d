/**
 * The direct mesh under stress: eight tabs, with two CPU hogs spinning beside
 * them (the machine has two cores, so the tabs, the relay and the test runner
 * get what is left). Every pair must end up on a direct WebRTC connection
 * within the bound below; how long it took, how many dials each pair needed
 * and why dials failed are reported (`npm run bench` measures the same as a
 *  figure: `meshStress` in bench/run.ts). Run it with `npm run test:stress`.
 */
import { CpuHogs } from '../test/helpers/cpu-hogs.ts'
import { expect, test, waitFullMesh } from './fixtures.ts'
import type { DialErrorClass } from '../src/core/network/dial-errors.ts'

const TABS = 8
/** Every pair direct within this, counted from the moment all tabs are online. */
const MESH_BOUND_MS = 240_000

test('eight tabs beside two CPU hogs: every pair of tabs goes direct, and stays so @stress', async ({
  peer,
  newRelay
}, testInfo) => {
  test.setTimeout(600_000)
  const hogs = CpuHogs.start(2, 590_000)
  try {
    const relay = await newRelay()
    const openedAt = Date.now()
    const tabs = await Promise.all(Array.from({ length: TABS }, async () => await peer({ relay })))
    const ids = await Promise.all(tabs.map(async t => await t.waitOnline(120_000)))
    expect(new Set(ids).size).toBe(TABS)
    const onlineAt = Date.now()
    await waitFullMesh(tabs, ids, MESH_BOUND_MS)
    const meshAt = Date.now()

    // nobody is left with a reason to be relayed: every peers() entry of a tab is direct
    for (const tab of tabs) {
      const relayed = (await tab.page.evaluate(() => window.p2pMarketplace!.peers())).filter(
        p => !p.relay && !p.direct
      )
      expect(relayed, `tab ${await tab.peerId()} has peers still relayed`).toEqual([])
    }

    const stats = await Promise.all(tabs.map(async t => await t.dialStats()))
    const pairDials: number[] = []
    for (let i = 0; i < TABS; i++) {
      for (let j = i + 1; j < TABS; j++) {
        pairDials.push((stats[i]!.attemptsByPeer[ids[j]!] ?? 0) + (stats[j]!.attemptsByPeer[ids[i]!] ?? 0))
      }
    }
    const errors: Partial<Record<DialErrorClass, number>> = {}
    for (const s of stats) {
      for (const [k, n] of Object.entries(s.errorsByClass)) {
        errors[k as DialErrorClass] = (errors[k as DialErrorClass] ?? 0) + n
      }
    }
    const figures = {
      tabs: TABS,
      hogs: hogs.describe(),
      onlineMs: onlineAt - openedAt,
      meshMs: meshAt - onlineAt,
      pairs: pairDials.length,
      dialsPerPair: { max: Math.max(...pairDials), total: pairDials.reduce((a, b) => a + b, 0) },
      failedDials: stats.reduce((n, s) => n + s.failures, 0),
      errorsByClass: errors,
      recentErrors: stats.flatMap(s => s.recentErrors)
    }
    const text = `${TABS} tabs + 2 CPU hogs: all online in ${figures.onlineMs} ms, full direct mesh ${figures.meshMs} ms later; ${figures.pairs} pairs, ${figures.dialsPerPair.total} dials (max ${figures.dialsPerPair.max} for one pair), ${figures.failedDials} failed ${JSON.stringify(errors)}`
    console.log(text)
    testInfo.annotations.push({ type: 'mesh under stress', description: text })
    await testInfo.attach('mesh-stress.json', {
      body: JSON.stringify(figures, null, 2),
      contentType: 'application/json'
    })
  } finally {
    await hogs.stop()
  }
})
