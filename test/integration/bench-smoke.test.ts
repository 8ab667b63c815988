// One short run of the bench end to end: redis-server, the mock backend and the gateway as
// real processes, mock OTP providers as real servers, autocannon traffic, a written report,
// and nothing left running afterwards.
import { connect } from 'node:net'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type Report } from '../../bench/report/report.js'
import { runScenario } from '../../bench/runner.js'
import { peakLogin } from '../../bench/scenarios/peak-login.js'

async function refused (url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return await new Promise(resolve => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(true))
  })
}

describe('the bench', () => {
  it('runs peak-login end to end, reports every honest login, and stops every process it started', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bench-smoke-'))
    onTestFinished(async () => { await rm(root, { recursive: true, force: true }) })
    const summary = await runScenario(peakLogin, {
      args: { scenario: 'peak-login', durationS: 3, rate: 40, quiet: true, cpuProf: false, compiled: false, help: false },
      resultsRoot: root,
      signal: new AbortController().signal,
      command: 'vitest bench-smoke',
      targetAdminToken: undefined,
      log: () => {}
    })

    expect(summary.report.reason).toBeUndefined()
    expect(summary.status).not.toBe('error')
    const report = JSON.parse(await readFile(join(summary.dir, 'report.json'), 'utf8')) as Report
    expect(report.phases.map(p => p.name)).toEqual(['baseline (1x)', 'storm (10x)'])
    const honest = report.figures?.honest
    expect(honest?.flows).toBeGreaterThan(40)
    expect(honest?.successRate).toBeGreaterThanOrEqual(0.95)
    expect(report.figures?.serverErrors).toBe(0)
    // Some honest users needed an SMS code and got it from the mock provider.
    expect(report.figures?.classes[0]?.codes.sent).toBeGreaterThan(0)
    expect(report.otpSinks['sms-primary']?.accepted).toBeGreaterThan(0)
    expect(report.samples.length).toBeGreaterThan(0)
    expect(report.slos.find(s => s.id === 'no_5xx')?.pass).toBe(true)
    expect(await readFile(join(summary.dir, 'report.html'), 'utf8')).toContain('<svg')
    expect(await readFile(join(summary.dir, 'report.md'), 'utf8')).toContain('## Objectives')

    // Everything it started is gone: the gateway, the mock backend and redis-server.
    expect(await refused(report.options.target)).toBe(true)
    expect(await refused(report.gatewayEnv.AUTH_BACKEND_URL ?? '')).toBe(true)
    expect(await refused((report.gatewayEnv.REDIS_URL ?? '').replace('redis:', 'http:'))).toBe(true)
  })
})
