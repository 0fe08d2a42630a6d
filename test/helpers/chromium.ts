/**
 * How tests and benchmarks launch Debian's Chromium (Playwright cannot
 * download its own browsers here). These flags are the ones measured to work
 * on this machine; none is WebRTC-specific.
 */
export const CHROMIUM_LAUNCH = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
  ]
}
