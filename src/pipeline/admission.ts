// Stage: admission. Before any work: is login under maintenance, is the gateway re-admitting a
// returning crowd, is there a slot free? Shed requests get 503 with a Retry-After that is
// jittered (or spread over the ramp) so that retries do not come back all at once.
import { type FastifyRequest, type onRequestAsyncHookHandler } from 'fastify'
import { GatewayError, type Locale } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { type ConcurrencyLimiter, type Criticality } from '../admission/concurrency.js'
import { type MaintenanceWindow, maintenanceNote, maintenancePhase } from '../admission/maintenance.js'
import { type MaintenanceState } from '../admission/maintenance-state.js'
import { admittedShare, jitteredRetryAfter, type RampSettings, spreadRetryAfter } from '../admission/readmission.js'

export interface AdmissionOptions {
  slots: ConcurrencyLimiter
  maintenance: MaintenanceState
  ramp: RampSettings
  /** Base of the jittered Retry-After of a shed request. */
  retryAfterS: number
  /** Whether session checks stop during maintenance too (default: they go on). */
  maintenanceBlocksSessions: boolean
  metrics: Metrics
  now: () => number
  random: () => number
}

export interface Admission {
  /** onRequest stage for a route of this criticality. */
  admit: (criticality: Criticality, options?: { maintenance: boolean }) => onRequestAsyncHookHandler
  /** Frees the slot of a finished or aborted request (idempotent). */
  release: (request: FastifyRequest) => void
  /** The backend's breaker closed after an outage: ramp new logins up again. */
  backendRecovered: (at: number) => void
  /** The ramp in force, if any, and the share of new logins it admits. */
  ramp: () => { startedAt: number | undefined, share: number }
  inFlight: () => number
  /** A new login would be admitted at once: no maintenance window, no re-admission ramp, a slot free. */
  wouldAdmit: () => boolean
}

export function createAdmission (o: AdmissionOptions): Admission {
  let recoveredAt: number | undefined
  const shed = (reason: string, retryAfterSeconds: number) => {
    o.metrics.admissionShed.inc({ reason })
    return new GatewayError('overloaded', { retryAfterSeconds, logFields: { shed: reason } })
  }

  function rampStart (window: MaintenanceWindow | null, now: number): number | undefined {
    const starts = [recoveredAt, maintenancePhase(window, now) === 'ended' ? window?.until : undefined]
      .filter((t): t is number => t !== undefined && now < t + o.ramp.durationMs)
    return starts.length === 0 ? undefined : Math.max(...starts)
  }

  function underMaintenance (window: MaintenanceWindow, now: number): GatewayError {
    o.metrics.admissionShed.inc({ reason: 'maintenance' })
    const note = (locale: Locale) => maintenanceNote(window, locale)
    return new GatewayError('maintenance', {
      retryAfterSeconds: Math.ceil((window.until - now) / 1000),
      extensions: { until: new Date(window.until).toISOString() },
      localParams: { note: { en: note('en'), 'zh-CN': note('zh-CN') } }
    })
  }

  return {
    admit (criticality, options = { maintenance: criticality === 'normal' || o.maintenanceBlocksSessions }) {
      return async function admission (request: FastifyRequest) {
        const now = o.now()
        const window = o.maintenance.current()
        if (options.maintenance && window !== null && maintenancePhase(window, now) === 'active') throw underMaintenance(window, now)
        if (criticality === 'normal') {
          const start = rampStart(window, now)
          if (start !== undefined && o.random() >= admittedShare(start, now, o.ramp)) {
            throw shed('readmission', spreadRetryAfter(start, now, o.ramp, o.random()))
          }
        }
        const release = await o.slots.acquire(criticality)
        if (release === null) throw shed('concurrency', jitteredRetryAfter(o.retryAfterS, o.random()))
        // The client may have gone while it waited: then no onResponse will ever free the slot.
        if (request.raw.destroyed) {
          release()
          throw shed('client_gone', 1)
        }
        request.admissionRelease = release
      }
    },
    release (request) {
      request.admissionRelease?.()
      request.admissionRelease = null
    },
    backendRecovered (at) { recoveredAt = at },
    inFlight: () => o.slots.inFlight(),
    wouldAdmit () {
      const now = o.now()
      const window = o.maintenance.current()
      return !(window !== null && maintenancePhase(window, now) === 'active') && rampStart(window, now) === undefined && o.slots.free('normal')
    },
    ramp () {
      const now = o.now()
      const startedAt = rampStart(o.maintenance.current(), now)
      return { startedAt, share: admittedShare(startedAt, now, o.ramp) }
    }
  }
}
