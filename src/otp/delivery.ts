// Delivering a code: the channel's providers in order (priority, then health), each behind its
// own opossum breaker and timeout. A failure moves on to the next provider, an open breaker is
// skipped without waiting, and an optional hedge starts the next provider when the current one
// has not accepted within `hedgeMs`. Which provider delivered goes to metrics and logs only.
import { type Logger } from 'pino'
import { type Metrics } from '../infra/metrics.js'
import { type Breaker, CallCancelled, createBreaker } from '../resilience/breaker.js'
import { type Channel } from './challenge.js'
import { type OtpMessage, type OtpProvider } from './provider.js'
import { createRollingHealth, healthScore, rankProviders, type RollingHealth } from './provider-health.js'

export interface ProviderSetup {
  provider: OtpProvider
  priority: number
  timeoutMs: number
}

export interface DeliveryOptions {
  providers: readonly ProviderSetup[]
  /** 0: off. Otherwise start the next provider when the current one is this slow. */
  hedgeMs: number
  breaker: { errorThresholdPercentage: number, volumeThreshold: number, resetTimeoutMs: number, windowMs: number }
  log: Logger
  metrics: Metrics
}

export interface ProviderStatus {
  name: string
  channels: readonly Channel[]
  priority: number
  breaker: ReturnType<Breaker<[], unknown>['state']>
  score: number
}

export interface Delivery {
  /** Resolves with the provider that accepted the message; rejects with an AggregateError of every failure. */
  send: (message: OtpMessage) => Promise<Delivered>
  /** Channels with at least one provider whose breaker is not open. */
  usableChannels: () => Set<Channel>
  /** Channels with at least one configured provider. */
  channels: () => Set<Channel>
  /** Milliseconds until a provider of the channel may be tried again (0: one is not open now). */
  msUntilUsable: (channel: Channel) => number
  status: () => ProviderStatus[]
  close: () => Promise<void>
}

export interface Delivered {
  provider: string
  messageId: string
  /** Another provider failed or was skipped first. */
  failedOver: boolean
}

/** The abort reason for a send that a provider started after it beat. */
const OVERTAKEN = Symbol('overtaken')

interface Slot extends ProviderSetup {
  name: string
  breaker: Breaker<[OtpMessage, AbortSignal], { messageId: string }>
  health: RollingHealth
}

export function createDelivery (o: DeliveryOptions): Delivery {
  const slots: Slot[] = o.providers.map(setup => {
    const name = setup.provider.name
    const health = createRollingHealth()
    const action = async (message: OtpMessage, signal: AbortSignal) => {
      const started = performance.now()
      try {
        // The adapter keeps its own deadline (timeoutMs); `signal` only calls off a hedged loser.
        const accepted = await setup.provider.send(message, signal)
        health.record({ ok: true, latencyMs: performance.now() - started })
        return accepted
      } catch (err) {
        const latencyMs = performance.now() - started
        if (signal.aborted) {
          // Beaten by a hedge started after it: for the user as good as a failure, and the score
          // must say so, or a slow provider keeps ranking first and every send pays the hedge.
          if (signal.reason === OVERTAKEN) health.record({ ok: false, latencyMs })
          throw new CallCancelled({ cause: err })
        }
        health.record({ ok: false, latencyMs })
        throw err
      } finally {
        o.metrics.otpProviderDuration.observe({ provider: name }, (performance.now() - started) / 1000)
      }
    }
    const breaker = createBreaker(`otp_${name}`, action, { ...o.breaker, timeoutMs: setup.timeoutMs + 1000 }, o)
    return { ...setup, name, breaker, health }
  })

  const ranked = (channel: Channel) => rankProviders(slots
    .filter(s => s.provider.channels.includes(channel))
    .map(s => Object.assign(s, { score: healthScore(s.health.samples(), s.timeoutMs) })))

  return {
    send: message => deliver(ranked(message.channel), message, o),
    usableChannels: () => new Set(slots.filter(s => s.breaker.state() !== 'open').flatMap(s => s.provider.channels)),
    channels: () => new Set(slots.flatMap(s => s.provider.channels)),
    msUntilUsable (channel) {
      const waits = slots.filter(s => s.provider.channels.includes(channel)).map(s => s.breaker.msUntilProbe())
      return waits.length === 0 ? 0 : Math.min(...waits)
    },
    status: () => slots.map(s => ({
      name: s.name, channels: s.provider.channels, priority: s.priority, breaker: s.breaker.state(), score: healthScore(s.health.samples(), s.timeoutMs)
    })),
    async close () {
      for (const s of slots) s.breaker.shutdown()
      await Promise.all(slots.map(s => s.provider.close()))
    }
  }
}

function deliver (order: readonly Slot[], message: OtpMessage, o: DeliveryOptions): Promise<Delivered> {
  const failures: unknown[] = []
  let skipped = 0
  const controllers: AbortController[] = []
  const hedges: NodeJS.Timeout[] = []
  let next = 0
  let inFlight = 0
  let settled = false
  return new Promise((resolve, reject) => {
    function startNext (): void {
      if (settled) return
      while (next < order.length && order[next]?.breaker.state() === 'open') {
        o.metrics.otpProviderSends.inc({ provider: order[next]?.name, outcome: 'skipped' })
        skipped++
        next++
      }
      const slot = order[next++]
      if (slot === undefined) {
        if (inFlight === 0) finish(() => reject(new AggregateError(failures, `no provider delivered the ${message.channel} message`)))
        return
      }
      inFlight++
      const controller = new AbortController()
      controllers.push(controller)
      const hedge = o.hedgeMs > 0 ? setTimeout(startNext, o.hedgeMs) : undefined
      if (hedge) hedges.push(hedge)
      slot.breaker.fire(message, controller.signal).then(accepted => {
        clearTimeout(hedge)
        o.metrics.otpProviderSends.inc({ provider: slot.name, outcome: 'delivered' })
        finish(() => resolve({ provider: slot.name, messageId: accepted.messageId, failedOver: failures.length + skipped > 0 }), controller)
      }, (err: unknown) => {
        clearTimeout(hedge)
        inFlight--
        if (err instanceof CallCancelled) {
          o.metrics.otpProviderSends.inc({ provider: slot.name, outcome: 'cancelled' })
          return
        }
        failures.push(err)
        o.metrics.otpProviderSends.inc({ provider: slot.name, outcome: 'failed' })
        if (!settled) o.log.warn({ provider: slot.name, channel: message.channel, err: { message: (err as Error).message } }, 'otp provider failed, trying the next')
        startNext()
      })
    }
    function finish (settle: () => void, winner?: AbortController): void {
      if (settled) return
      settled = true
      for (const t of hedges) clearTimeout(t)
      // A send still running is no longer needed; one started before the winner was overtaken.
      const overtaken = winner === undefined ? 0 : controllers.indexOf(winner)
      controllers.forEach((c, i) => { c.abort(i < overtaken ? OVERTAKEN : undefined) })
      settle()
    }
    startNext()
  })
}
