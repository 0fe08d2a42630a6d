import { defineConfig } from '@playwright/test'
import { CHROMIUM_LAUNCH } from './test/helpers/chromium.ts'

export default defineConfig({
  testDir: 'e2e',
  // tabs are heavy (250-350 MB, real WebRTC) and the machine has 2 cores
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI != null,
  // the stress test (8 tabs beside two CPU hogs, minutes long) runs on its own: `npm run test:stress`
  ...(process.env.E2E_STRESS != null ? { grep: /@stress/ } : { grepInvert: /@stress/ }),
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: CHROMIUM_LAUNCH,
    trace: 'retain-on-failure'
  }
})
