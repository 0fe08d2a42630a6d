/**
 * Fault scenarios, each with six or more tabs in their own browser contexts:
 * tabs leaving, the relay crashing and coming back, the collector going down
 * and coming back. Every wait is on network state (a search finding a record,
 * a node reporting `online`, a request reaching the collector), never a sleep.
 */
import { expect, test, waitFullMesh } from './fixtures.ts'
import type { PageProblem, PeerFactory, PeerOptions, PeerPage } from './fixtures.ts'
import type { PackageManifest } from '../src/core/package/schema.ts'

const TABS = 6

// seven or eight tabs, a relay or a collector going down and back: about a minute each on two
// cores, twice that when the machine is shared; the default 2 minutes is sized for 2-3 tab tests
test.describe.configure({ timeout: 240_000 })

/** A word no other test (or earlier repeat of this one) publishes: searches for it find this run's packages only. */
function runToken(): string {
  return `q${Math.random().toString(36).slice(2, 9)}`
}

/** Package `i` of a run; each publishing tab gets its own namespace (a namespace belongs to its first key). */
function manifest(run: string, i: number): PackageManifest {
  return {
    id: `${run}-${i}/pkg-${i}`,
    version: '1.0.0',
    title: `Fault ${run} number ${i}`,
    description: `package ${i} of fault run ${run}`,
    license: 'MIT',
    tags: ['fault', run]
  }
}

/** Opens `count` tabs at once and waits until every one is online. */
async function openTabs(
  peer: PeerFactory,
  count: number,
  options?: PeerOptions
): Promise<{ tabs: PeerPage[]; ids: string[] }> {
  const tabs = await Promise.all(Array.from({ length: count }, async () => await peer(options)))
  const ids = await Promise.all(tabs.map(async t => await t.waitOnline()))
  expect(new Set(ids).size).toBe(count)
  return { tabs, ids }
}

/**
 * Who answers a DHT lookup of a package's latest-version key, with which record's id. Browser
 * peers are DHT clients, so only DHT servers (the relay) can answer.
 */
async function dhtAnswerers(tab: PeerPage, id: string): Promise<Array<{ from: string; id: string }>> {
  return await tab.page.evaluate(async id => {
    const dht = window.p2pMarketplace!.libp2p.services.dht
    const answers: Array<{ from: string; id: string }> = []
    for await (const event of dht.get(new TextEncoder().encode(`/mkt/${id}`), {
      signal: AbortSignal.timeout(10_000)
    })) {
      if (event.name === 'VALUE') {
        const record = JSON.parse(new TextDecoder().decode(event.value)) as { id: string }
        answers.push({ from: event.from.toString(), id: record.id })
      }
    }
    return answers
  }, id)
}

/**
 * Waits until the relay's DHT answers a lookup of each package, from `tab`. This, not a publish
 * result's `dhtStored`, is what the scenarios rely on: `dhtStored` says a DHT server acknowledged
 * within the publish's 5 s budget, which a PUT to one relay serving six busy tabs on two cores
 * now and then misses (0.2–4 s measured here) although the record lands a moment later.
 */
async function waitInRelayDht(tab: PeerPage, relayId: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    await expect
      .poll(async () => await dhtAnswerers(tab, id), {
        timeout: 15_000,
        message: `the relay's DHT answers a lookup of ${id}`
      })
      .toContainEqual({ from: relayId, id })
  }
}

test('six tabs: published in one, found in all; a late joiner finds everything; with 30 % of the tabs closed the rest still find every package', async ({
  peer,
  relay
}) => {
  const run = runToken()
  const query = { text: run }
  const packages = [0, 1, 2].map(i => manifest(run, i))
  const all = packages.map(p => p.id)
  const { tabs, ids } = await openTabs(peer, TABS)
  await waitFullMesh(tabs, ids)

  await test.step('a package published in one tab is found by a search in all six', async () => {
    const result = await tabs[0]!.publish(packages[0]!)
    expect(result).toMatchObject({ id: packages[0]!.id, announced: true })
    await Promise.all(tabs.map(async t => await t.waitForPackages(query, [packages[0]!.id])))
  })

  await test.step('two more tabs publish: every tab finds all three, signed by their publishers', async () => {
    for (const i of [1, 2]) {
      expect(await tabs[i]!.publish(packages[i]!)).toMatchObject({ announced: true })
    }
    await Promise.all(tabs.map(async t => await t.waitForPackages(query, all)))
    const found = await tabs[5]!.getPackage(packages[2]!.id)
    expect(found?.publisher).toBe(ids[2])
  })

  const late = await test.step('a late joiner finds everything published before it came', async () => {
    const late = await peer()
    await late.waitOnline()
    await late.waitForPackages(query, all)
    return late
  })

  await test.step('30 % of the tabs close, every publisher among them: the rest still find every package', async () => {
    const everyone = [...tabs, late]
    const closing = tabs.slice(0, Math.ceil(everyone.length * 0.3)) // 3 of 7: the three publishers
    const closedIds = ids.slice(0, closing.length)
    const rest = everyone.filter(t => !closing.includes(t))
    // the harshest way: whole browser contexts go, no pagehide, no goodbye
    await Promise.all(closing.map(async t => await t.context.close()))
    for (const tab of rest) {
      await expect
        .poll(async () => (await tab.connectedPeers()).filter(id => closedIds.includes(id)), {
          timeout: 30_000,
          message: 'the remaining tabs notice the closed ones are gone'
        })
        .toEqual([])
    }
    // online, or back online: on a starved machine libp2p's connection monitor can drop a tab's
    // relay connection (a ping over 5 s) just then, and the tab reconnects and re-reserves
    await Promise.all(rest.map(async t => await t.waitOnline(45_000)))
    await Promise.all(rest.map(async t => await t.waitForPackages(query, all)))
    for (const [i, pkg] of packages.entries()) {
      expect((await rest[0]!.getPackage(pkg.id))?.publisher).toBe(closedIds[i])
    }
    await waitInRelayDht(rest[0]!, (await relay.health()).peerId, all)
    // a newcomer can only get them from the tabs that stayed (and the relay)
    const newcomer = await peer()
    await newcomer.waitOnline()
    await newcomer.waitForPackages(query, all)
  })
})

test('the relay is killed and restarted: every tab is back online and re-reserved, and no record is lost', async ({
  peer,
  newRelay
}, testInfo) => {
  const relay = await newRelay()
  const run = runToken()
  const query = { text: run }
  const packages = [0, 1, 2].map(i => manifest(run, i))
  const all = packages.map(p => p.id)
  const { tabs, ids } = await openTabs(peer, TABS, { relay })
  await waitFullMesh(tabs, ids)
  const { peerId: relayId } = await relay.health()

  const catalogBefore =
    await test.step('three tabs publish; the relay (DHT and catalog) and every tab have the records', async () => {
      for (const i of [0, 1, 2]) {
        expect(await tabs[i]!.publish(packages[i]!)).toMatchObject({ announced: true })
      }
      await waitInRelayDht(tabs[5]!, relayId, all)
      await Promise.all(tabs.map(async t => await t.waitForPackages(query, all)))
      // the relay's catalog learns records from gossip; it can miss one announced while its
      // connection to the publisher was being re-established (libp2p's connection monitor aborts
      // a connection whose ping takes over 5 s, which happens on two busy cores), and it syncs
      // with a peer at most every 30 s. What it holds now is what must survive the kill.
      let size = 0
      await expect
        .poll(async () => (size = (await relay.health()).packages), { timeout: 15_000 })
        .toBe(all.length)
        .catch(() => {
          const text = `before the kill the relay's catalog held ${size} of ${all.length} records (its DHT held all)`
          console.log(text)
          testInfo.annotations.push({ type: 'relay catalog', description: text })
        })
      return size
    })

  const { killedAt, backAt, catalogAtStart } =
    await test.step('the relay is killed (SIGKILL); every tab notices; it is restarted on the same ports and DATA_DIR', async () => {
      await Promise.all(tabs.map(async t => await t.recordStates()))
      const killedAt = Date.now()
      await relay.stop('SIGKILL')
      await Promise.all(
        tabs.map(
          async t =>
            await expect
              .poll(async () => (await t.status()).state, {
                timeout: 30_000,
                message: 'a tab notices its relay is gone'
              })
              .not.toBe('online')
        )
      )
      await relay.start()
      const backAt = Date.now()
      // read at once, before the tabs are back to sync anything into it: what it kept on disk
      return { killedAt, backAt, catalogAtStart: (await relay.health()).packages }
    })

  await test.step('every tab is back online and re-reserved', async () => {
    await Promise.all(tabs.map(async t => await t.waitReserved(45_000)))
    await expect
      .poll(async () => (await relay.health()).reservations, {
        timeout: 10_000,
        message: 'the relay holds a reservation for every tab'
      })
      .toBe(TABS)
    const relayReservedAt = Date.now()
    // each tab's own record of when it went online again (its clock is this machine's); the relay
    // listens for libp2p a moment before it prints its URL, so a tab may beat `backAt`: that counts as 0
    const recovery = await Promise.all(
      tabs.map(async t => {
        const online = (await t.stateLog()).find(e => e.state === 'online' && e.at > killedAt)
        return online == null ? Number.NaN : Math.max(0, online.at - backAt)
      })
    )
    const slowest = Math.max(...recovery)
    const figures = {
      relayDownMs: backAt - killedAt,
      perTabMs: recovery,
      slowestTabMs: slowest,
      relaySawAllReservationsWithinMs: relayReservedAt - backAt
    }
    const text = `relay back → every tab re-reserved: slowest ${slowest} ms (tabs: ${recovery.join(', ')} ms; the relay counted all ${TABS} reservations within ${figures.relaySawAllReservationsWithinMs} ms, polled; the relay was down ${figures.relayDownMs} ms)`
    console.log(text)
    testInfo.annotations.push({ type: 'relay-restart recovery', description: text })
    await testInfo.attach('relay-restart-recovery.json', {
      body: JSON.stringify(figures, null, 2),
      contentType: 'application/json'
    })
    // the 10 s is a speed target, measured over repeated restarts by `npm run bench`
    // (relayRestart): here, on a machine CI shares, it is a figure to report, not to assert
    // (13.7 s was seen once under load; 3-5 s is usual)
    expect(recovery.every(Number.isFinite), 'every tab recorded going online after the restart').toBe(true)
  })

  await test.step('no record lost: the same relay (peer id, catalog, DHT records) and every tab still find them', async () => {
    expect((await relay.health()).peerId).toBe(relayId)
    expect(catalogAtStart, 'the restarted relay loaded every record its catalog held').toBeGreaterThanOrEqual(
      catalogBefore
    )
    await waitInRelayDht(tabs[5]!, relayId, all)
    // and, with the tabs back, it holds them all (any it had missed come back by catalog sync)
    await expect.poll(async () => (await relay.health()).packages, { timeout: 15_000 }).toBe(all.length)
    await Promise.all(tabs.map(async t => await t.waitForPackages(query, all)))
  })

  await test.step('the network works as before: a new package reaches the relay and every tab', async () => {
    const fresh = manifest(run, 3)
    expect(await tabs[3]!.publish(fresh)).toMatchObject({ announced: true })
    await expect.poll(async () => (await relay.health()).packages, { timeout: 15_000 }).toBe(all.length + 1)
    await waitInRelayDht(tabs[0]!, relayId, [fresh.id])
    await Promise.all(tabs.map(async t => await t.waitForPackages(query, [...all, fresh.id])))
  })
})

test('the collector goes down and comes back: no app errors, and export resumes, straight from tabs and through the relay', async ({
  peer,
  newRelay,
  collector
}, testInfo) => {
  // the relay forwards what it receives to the collector; half the tabs export to the relay,
  // half straight to the collector (?otlp=), so both paths lose it and get it back
  const relay = await newRelay({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url })
  const run = runToken()
  const half = TABS / 2
  const direct = await openTabs(peer, half, { relay, params: { otlp: collector.tracesUrl } })
  const viaRelay = await openTabs(peer, half, { relay })
  const tabs = [...direct.tabs, ...viaRelay.tabs]
  const ids = [...direct.ids, ...viaRelay.ids]
  await waitFullMesh(tabs, ids)
  const failedExports = new Map<PeerPage, number>(tabs.map(t => [t, 0]))
  for (const tab of tabs) {
    tab.page.on('requestfailed', request => {
      if (request.url().startsWith(collector.url)) failedExports.set(tab, (failedExports.get(tab) ?? 0) + 1)
    })
  }
  /** Errors other than the browser's own log line for a request the collector did not answer. */
  const appProblems = (tab: PeerPage): PageProblem[] =>
    tab.problems.filter(
      p =>
        !(
          p.kind === 'console' &&
          p.url?.startsWith(collector.url) === true &&
          p.text.startsWith('Failed to load resource')
        )
    )
  const searchTraces = async (label: string): Promise<string[]> =>
    await Promise.all(tabs.map(async t => (await t.search({ text: `${run} ${label}` })).traceId))
  const arrived = (traceIds: string[]): boolean[] =>
    traceIds.map((traceId, i) =>
      collector.trace(traceId).some(s => s.name === 'search' && s.resource['service.instance.id'] === ids[i])
    )

  await test.step('with the collector up, every tab’s spans reach it', async () => {
    const traces = await searchTraces('before')
    await expect.poll(() => arrived(traces), { timeout: 20_000 }).toEqual(tabs.map(() => true))
  })

  const during =
    await test.step('the collector goes down: every tab keeps working, online, and logs no error of its own', async () => {
      await collector.stop()
      // a tab of each kind publishes; every tab finds both, and they are in the relay's DHT
      const published: string[] = []
      for (const tab of [direct.tabs[0]!, viaRelay.tabs[0]!]) {
        const result = await tab.publish(manifest(run, published.length))
        expect(result).toMatchObject({ announced: true })
        published.push(result.id)
      }
      await Promise.all(tabs.map(async t => await t.waitForPackages({ text: run }, published)))
      await waitInRelayDht(tabs[1]!, (await relay.health()).peerId, published)
      const traces = await searchTraces('during')
      // the exports were really attempted and failed: in the tabs that export themselves, and at the relay
      await expect
        .poll(() => direct.tabs.map(t => (failedExports.get(t) ?? 0) > 0), { timeout: 20_000 })
        .toEqual(direct.tabs.map(() => true))
      await expect
        .poll(async () => (await relay.health()).upstream?.failures ?? 0, { timeout: 20_000 })
        .toBeGreaterThan(0)
      for (const tab of tabs) {
        expect((await tab.status()).state).toBe('online')
        await expect(tab.page.getByTestId('node-state')).toHaveText('Online')
      }
      return { traces }
    })

  await test.step('the collector comes back: export resumes from every tab, and what the relay queued arrives', async () => {
    await collector.start()
    const backAt = Date.now()
    const traces = await searchTraces('after')
    await expect.poll(() => arrived(traces), { timeout: 45_000 }).toEqual(tabs.map(() => true))
    const resumedAt = Date.now()
    // the relay kept what it could not forward: the outage's spans of the tabs exporting to it arrive too
    await expect
      .poll(() => arrived(during.traces).slice(half), { timeout: 45_000 })
      .toEqual(viaRelay.tabs.map(() => true))
    const outageSpansFromDirectTabs = arrived(during.traces).slice(0, half)
    const text = `collector back → a new search's spans from all ${TABS} tabs received within ${resumedAt - backAt} ms; spans made during the outage by the tabs exporting straight to it: ${outageSpansFromDirectTabs.filter(Boolean).length}/${half} arrived (the web exporter retries for 10 s, then drops)`
    console.log(text)
    testInfo.annotations.push({ type: 'collector outage', description: text })
  })

  await test.step('through it all, no tab reported an error of its own', async () => {
    for (const tab of tabs) expect(appProblems(tab), `errors in tab ${await tab.peerId()}`).toEqual([])
    // what was let through: the browser's own line for each export the collector refused
    const refused = direct.tabs.map(t => t.problems.length)
    testInfo.annotations.push({
      type: 'collector outage',
      description: `browser "Failed to load resource" lines for refused exports, per tab exporting straight to it: ${refused.join(', ')}`
    })
  })
})
