// Real Redis topologies for the scale-out tests: a Cluster of three masters made with
// `redis-cli --cluster create`, and a Sentinel setup (master, replica, three sentinels). Every
// process runs on loopback ports in a temporary directory and is stopped when the test ends.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { onTestFinished } from 'vitest'
import { type RedisProcess, startRedisServer, waitUntilUp } from './redis-server.js'

const run = promisify(execFile)

async function isFree (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise(resolve => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port whose cluster-bus companion (port + 10000) is free too. */
async function clusterPort (taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000)
    if (!taken.has(port) && await isFree(port) && await isFree(port + 10_000)) return port
  }
  throw new Error('no free port pair for a cluster node')
}

function tempDir (name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lg-${name}-`))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function untilTrue (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`${what} within ${timeoutMs} ms`)
}

export interface RedisCluster {
  nodes: RedisProcess[]
  /** For REDIS_CLUSTER_NODES. */
  seeds: string
}

export async function startRedisCluster (masters = 3): Promise<RedisCluster> {
  const taken = new Set<number>()
  const nodes: RedisProcess[] = []
  onTestFinished(async () => { await Promise.all(nodes.map(n => n.stop())) })
  for (let i = 0; i < masters; i++) {
    const port = await clusterPort(taken)
    taken.add(port)
    const dir = tempDir(`cluster-${port}`)
    nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000', '--dir', dir], port))
  }
  await run('redis-cli', ['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 })
  const probe = new Redis(nodes[0]?.port ?? 0, '127.0.0.1')
  probe.on('error', () => {})
  onTestFinished(() => { probe.disconnect() })
  await untilTrue('the cluster was not ready', async () => (await probe.cluster('INFO') as string).includes('cluster_state:ok'), 20_000)
  return { nodes, seeds: nodes.map(n => `127.0.0.1:${n.port}`).join(',') }
}

export interface RedisSentinels {
  master: RedisProcess
  replica: RedisProcess
  /** For REDIS_SENTINELS. */
  sentinels: string
  name: string
  /** The port of the master the sentinels currently name. */
  currentMasterPort: () => Promise<number>
  /** Polls until the sentinels name `port` or `timeoutMs` passes; the port last named. */
  waitForMasterPort: (port: number, timeoutMs: number) => Promise<number>
  /** Promotes the replica without waiting for the sentinels to agree (SENTINEL FAILOVER). */
  forceFailover: () => Promise<void>
}

export async function startRedisSentinels (name = 'lgmaster'): Promise<RedisSentinels> {
  const master = await startRedisServer()
  onTestFinished(() => master.stop())
  const replica = await startRedisServer(['--replicaof', '127.0.0.1', String(master.port)])
  onTestFinished(() => replica.stop())
  const admin = new Redis(master.port, '127.0.0.1', { retryStrategy: () => null })
  admin.on('error', () => {}) // the master is killed on purpose
  onTestFinished(() => { admin.disconnect() })
  await untilTrue('the replica did not sync', async () => (await admin.info('replication')).includes('connected_slaves:1'), 10_000)

  const ports: number[] = []
  const children: ChildProcess[] = []
  onTestFinished(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) { c.kill('SIGKILL'); await once(c, 'exit') }
  })
  for (let i = 0; i < 3; i++) {
    const port = await clusterPort(new Set(ports)) // any free port will do
    const dir = tempDir(`sentinel-${port}`)
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 3000`,
      `sentinel parallel-syncs ${name} 1`, ''
    ].join('\n'))
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    children.push(child)
    await waitUntilUp(port, child)
    ports.push(port)
  }
  const sentinel = new Redis(ports[0] ?? 0, '127.0.0.1')
  sentinel.on('error', () => {})
  onTestFinished(() => { sentinel.disconnect() })
  // Sentinels must know each other and the replica before a failover can happen.
  await untilTrue('the sentinels did not see each other', async () => {
    const info = await sentinel.call('SENTINEL', 'MASTER', name) as string[]
    const field = (k: string) => Number(info[info.indexOf(k) + 1])
    return field('num-other-sentinels') >= 2 && field('num-slaves') >= 1
  }, 20_000)
  const currentMasterPort = async (): Promise<number> =>
    Number((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as string[])[1])
  return {
    master,
    replica,
    sentinels: ports.map(p => `127.0.0.1:${p}`).join(','),
    name,
    currentMasterPort,
    waitForMasterPort: async (port, timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      let named = await currentMasterPort()
      while (named !== port && Date.now() < deadline) {
        await sleep(100)
        named = await currentMasterPort()
      }
      return named
    },
    forceFailover: async () => { await sentinel.call('SENTINEL', 'FAILOVER', name) }
  }
}
