import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node'
        }
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          // a setup that forms a mesh on a loaded machine may wait for a hung dial to time out and retry
          hookTimeout: 120_000,
          // several libp2p networks in parallel would fight for 2 cores
          fileParallelism: false
        }
      }
    ]
  }
})
