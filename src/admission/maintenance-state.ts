// The maintenance window every replica sees: kept in Redis (one key), read by each replica once
// a second into an in-process copy, so checking it costs a login nothing. Without Redis (demo
// mode) it lives in this process. A window from the configuration applies unless an operator
// set one through the admin API.
import { type RedisClient } from '../infra/redis.js'
import { type Logger } from 'pino'
import { storeUnavailable } from '../infra/store-guard.js'
import { type MaintenanceWindow, maintenancePhase } from './maintenance.js'

export interface MaintenanceState {
  /** The window in force, from the in-process copy. */
  current: () => MaintenanceWindow | null
  /** Reads the shared window now (also done every `pollMs`). */
  refresh: () => Promise<void>
  set: (window: MaintenanceWindow) => Promise<void>
  /** Ends an active window now (which starts re-admission) or drops a scheduled one. */
  end: () => Promise<void>
  close: () => void
}

export interface MaintenanceStateOptions {
  redis: RedisClient | null
  keyPrefix: string
  configured: MaintenanceWindow | null
  /** How long an ended window is kept, so that re-admission can ramp from its end. */
  keepEndedMs: number
  pollMs: number
  log: Logger
  now: () => number
}

export function createMaintenanceState (o: MaintenanceStateOptions): MaintenanceState {
  const key = `${o.keyPrefix}maintenance`
  let shared: MaintenanceWindow | null = null

  async function read (): Promise<void> {
    if (o.redis === null) return
    const raw = await o.redis.get(key)
    shared = raw === null ? null : JSON.parse(raw) as MaintenanceWindow
  }

  async function refresh (): Promise<void> {
    await read().catch((err: unknown) => {
      o.log.debug({ err: { message: (err as Error).message } }, 'maintenance refresh failed; keeping the last known window')
    })
  }

  // Redis first: a replica never acts on a window the others cannot see.
  async function store (window: MaintenanceWindow): Promise<void> {
    // Kept past a configured window's end, or the configured one would come back when this expires.
    const until = Math.max(window.until, o.configured?.until ?? 0)
    try {
      await o.redis?.set(key, JSON.stringify(window), 'PX', Math.max(1, until - o.now() + o.keepEndedMs))
    } catch (err) {
      throw storeUnavailable(err)
    }
    shared = window
  }

  const timer = o.redis === null ? undefined : setInterval(() => { refresh().catch(() => {}) }, o.pollMs)

  return {
    current: () => shared ?? o.configured,
    refresh,
    set: store,
    async end () {
      // Redis, not the copy: a window set through another replica may not have reached it yet.
      await read().catch((err: unknown) => { throw storeUnavailable(err) })
      const window = shared ?? o.configured
      if (window === null) return
      const at = o.now()
      const phase = maintenancePhase(window, at)
      if (phase === 'active') await store({ ...window, until: at })
      else if (phase === 'scheduled') await store({ ...window, cancelled: true })
    },
    close: () => { clearInterval(timer) }
  }
}
