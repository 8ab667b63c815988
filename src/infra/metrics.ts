// Prometheus metrics, one registry per app so that several apps in one process (tests) and
// the default registry never collide. Names follow Prometheus conventions (unit suffixes, _total).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type Metrics = ReturnType<typeof createMetrics>

export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const
export type BreakerState = typeof BREAKER_STATES[number]

let processRegistry: Registry | undefined

/**
 * Node.js process metrics (event-loop delay, GC, memory) belong to the process, not to an app:
 * collected once, into a registry of their own, however many apps a process builds (tests).
 */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: 'lg_' })
  }
  return processRegistry
}

export function createMetrics () {
  const registry = new Registry()
  return {
    registry,
    /** The Prometheus text of this app's metrics and the process's. */
    async scrape (): Promise<string> {
      return `${await processMetrics().metrics()}\n${await registry.metrics()}`
    },
    httpRequests: new Counter({
      name: 'lg_http_requests_total',
      help: 'HTTP requests answered, by route, method, status and problem code ("" on success)',
      labelNames: ['route', 'method', 'status', 'code'] as const,
      registers: [registry]
    }),
    httpDuration: new Histogram({
      name: 'lg_http_request_duration_seconds',
      help: 'Time from request to answer, by route (the login pipeline included)',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry]
    }),
    logins: new Counter({
      name: 'lg_logins_total',
      help: 'Login attempts by outcome (authenticated, otp_required or a problem code)',
      labelNames: ['outcome'] as const,
      registers: [registry]
    }),
    backendDuration: new Histogram({
      name: 'lg_auth_backend_request_duration_seconds',
      help: 'Auth backend call latency by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry]
    }),
    backendUnexpectedStatus: new Counter({
      name: 'lg_auth_backend_unexpected_status_total',
      help: 'Auth backend 4xx answers other than 401/403/404 (answered as invalid credentials)',
      labelNames: ['status'] as const,
      registers: [registry]
    }),
    breakerEvents: new Counter({
      name: 'lg_breaker_events_total',
      help: 'Circuit breaker events: failure, timeout, reject (refused while open)',
      labelNames: ['breaker', 'event'] as const,
      registers: [registry]
    }),
    breakerState: new Gauge({
      name: 'lg_breaker_state',
      help: 'Circuit breaker state: 1 for the current state of each breaker, 0 for the others',
      labelNames: ['breaker', 'state'] as const,
      registers: [registry]
    }),
    breakerTransitions: new Counter({
      name: 'lg_breaker_transitions_total',
      help: 'Circuit breaker state changes',
      labelNames: ['breaker', 'state'] as const,
      registers: [registry]
    }),
    bulkheadRejections: new Counter({
      name: 'lg_bulkhead_rejections_total',
      help: 'Calls refused at once because the concurrency cap of a dependency was reached',
      labelNames: ['dependency'] as const,
      registers: [registry]
    }),
    limitDecisions: new Counter({
      name: 'lg_limit_decisions_total',
      help: 'Rate-limit decisions per limit: allow, reject or shadow (would have rejected)',
      labelNames: ['limit', 'decision'] as const,
      registers: [registry]
    }),
    limitBlockCacheHits: new Counter({
      name: 'lg_limit_block_cache_hits_total',
      help: 'Requests refused from the in-process block cache, without a Redis command',
      labelNames: ['limit'] as const,
      registers: [registry]
    }),
    limitInsurance: new Counter({
      name: 'lg_limit_insurance_total',
      help: 'Limit checks answered by the in-process insurance limiter because Redis failed',
      labelNames: ['limit'] as const,
      registers: [registry]
    }),
    sharedAddresses: new Counter({
      name: 'lg_shared_addresses_detected_total',
      help: 'Addresses recognised as shared egress (many distinct successful users)',
      registers: [registry]
    }),
    otpProviderSends: new Counter({
      name: 'lg_otp_provider_sends_total',
      help: 'OTP sends per provider: delivered, failed, cancelled (a hedged send that lost the race), or skipped (breaker open)',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry]
    }),
    otpProviderDuration: new Histogram({
      name: 'lg_otp_provider_duration_seconds',
      help: 'How long each OTP provider took to accept or fail a message',
      labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry]
    }),
    otpChannel: new Counter({
      name: 'lg_otp_channel_total',
      help: 'OTP sends per channel: delivered by the first provider, failed over to another, or exhausted (none delivered)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry]
    }),
    otpVerifications: new Counter({
      name: 'lg_otp_verifications_total',
      help: 'OTP verifications by outcome: verified, invalid_code, challenge_expired',
      labelNames: ['outcome'] as const,
      registers: [registry]
    }),
    admissionShed: new Counter({
      name: 'lg_admission_shed_total',
      help: 'Requests turned away before any work: maintenance, readmission (ramp), concurrency, pressure',
      labelNames: ['reason'] as const,
      registers: [registry]
    }),
    sessionGraceHits: new Counter({
      name: 'lg_session_grace_hits_total',
      help: 'Session checks answered from the in-process copy while the session store was down',
      registers: [registry]
    }),
    backendRetries: new Counter({
      name: 'lg_auth_backend_retries_total',
      help: 'Auth backend calls retried after a connection failure, and retries the retry budget refused',
      labelNames: ['outcome'] as const,
      registers: [registry]
    }),
    ruleMatches: new Counter({
      name: 'lg_rule_matches_total',
      help: 'Abuse-rule matches per rule: enforced, or shadow (recorded only)',
      labelNames: ['rule', 'mode'] as const,
      registers: [registry]
    }),
    sessionsIssued: new Counter({
      name: 'lg_sessions_issued_total',
      help: 'Sessions issued',
      registers: [registry]
    }),
    sessionsEvicted: new Counter({
      name: 'lg_sessions_evicted_total',
      help: 'Oldest sessions evicted because a user reached the per-user cap',
      registers: [registry]
    })
  }
}

/** A gauge read from live state at scrape time (in flight, maintenance on, ramp share). */
export function addStateGauge (metrics: Metrics, name: string, help: string, read: () => number): void {
  // eslint-disable-next-line no-new -- registering is the point
  new Gauge({ name, help, registers: [metrics.registry], collect () { this.set(read()) } })
}
