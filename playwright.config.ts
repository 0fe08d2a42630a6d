import { defineConfig } from '@playwright/test'

/** Debian's Chromium: Playwright cannot download its own browsers here. */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  // tabs are heavy (250-350 MB, real WebRTC) and the machine has 2 cores
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI != null,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    },
    trace: 'retain-on-failure'
  }
})
