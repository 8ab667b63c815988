import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts']
        }
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One redis-server for the run; tests that kill or pause Redis start their own.
          globalSetup: ['test/helpers/global-redis.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // Compiles web/ first, so the pages under test are the sources as they are now;
          // the production-mode checks use the run's redis-server like the integration tests.
          globalSetup: ['test/browser/helpers/build-web.ts', 'test/helpers/global-redis.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
