// A real gateway in demo mode for the browser tests: the in-process demo backend and its fault
// switches, listening on free loopback ports, closed when the test ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FastifyInstance } from 'fastify'
import { onTestFinished } from 'vitest'
import { buildApp } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'
import { startDemoBackend } from '../../../src/demo/demo-backend.js'
import { createDemoFaults, type DemoFaults } from '../../../src/demo/demo-faults.js'
import { TEST_ENV } from '../../helpers/test-app.js'

export const ADMIN_TOKEN = 'browser-test-admin-token-0123456789'

export interface DemoGateway {
  app: FastifyInstance
  /** The public port: the demo page. */
  url: string
  /** Where /console and /admin are: the admin port with ADMIN_PORT, else the public one. */
  adminUrl: string
  faults: DemoFaults
  /** An admin API call from the test itself, to check what the page did. */
  admin: (path: string) => Promise<unknown>
}

const urlOf = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

export async function startDemoGateway (env: Record<string, string> = {}): Promise<DemoGateway> {
  const faults = createDemoFaults()
  const backend = await startDemoBackend('127.0.0.1', 0, faults)
  const config = loadConfig({ ...TEST_ENV, ADMIN_TOKEN, ...env })
  const app = await buildApp({ config, authBackendUrl: backend.url, demoFaults: faults })
  onTestFinished(async () => {
    await app.close()
    await backend.close()
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  if (app.adminServer) await app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const adminUrl = urlOf(app.adminServer ?? app)
  return {
    app,
    url: urlOf(app),
    adminUrl,
    faults,
    admin: async path => await (await fetch(`${adminUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()
  }
}

/** A rules file of its own for one test (RULES_FILE), removed when the test ends. */
export function rulesFile (yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lg-rules-'))
  onTestFinished(() => { rmSync(dir, { recursive: true, force: true }) })
  const path = join(dir, 'rules.yaml')
  writeFileSync(path, yaml)
  return path
}
