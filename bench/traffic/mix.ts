// How a scenario's load is shared between traffic classes (pure). Closed model: a number of
// connections, each sending its next request when the last is answered. Open model: a fixed
// arrival rate per class, whatever the answers take (autocannon's per-connection rate, with
// enough connections that slow answers do not hold arrivals back).
import { type TrafficClass } from '../measure/classify.js'

export interface ClassShare {
  cls: TrafficClass
  weight: number
}

export type LoadModel =
  | { kind: 'closed', connections: number }
  | { kind: 'open', rate: number, connections?: number }

export interface ClassLoad {
  cls: TrafficClass
  connections: number
  /** Requests per second over all of this class's connections (open model only). */
  rate?: number
}

// Connections an open-model class gets per request/s of its rate: enough to keep arrivals on
// schedule while answers take up to a second. Slower answers make it fall behind (the report says).
const CONNECTIONS_PER_RATE = 1
const MAX_AUTO_CONNECTIONS = 300

/** Splits `total` into integers proportional to `weights`, each at least `min` (largest remainder). */
export function apportion (total: number, weights: readonly number[], min = 1): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  if (sum <= 0) return weights.map(() => 0)
  const exact = weights.map(w => (w / sum) * total)
  const out = exact.map((x, i) => (weights[i] ?? 0) > 0 ? Math.max(min, Math.floor(x)) : 0)
  let left = total - out.reduce((a, b) => a + b, 0)
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).filter(e => (weights[e.i] ?? 0) > 0).sort((a, b) => b.r - a.r)
  for (let k = 0; left > 0 && byRemainder.length > 0; k++, left--) {
    const e = byRemainder[k % byRemainder.length]
    if (e !== undefined) out[e.i] = (out[e.i] ?? 0) + 1
  }
  return out
}

export function splitLoad (mix: readonly ClassShare[], model: LoadModel): ClassLoad[] {
  const active = mix.filter(m => m.weight > 0)
  const weights = active.map(m => m.weight)
  if (model.kind === 'closed') {
    const connections = apportion(model.connections, weights)
    return active.map((m, i) => ({ cls: m.cls, connections: connections[i] ?? 1 }))
  }
  const rates = apportion(Math.max(model.rate, active.length), weights)
  const given = model.connections === undefined ? undefined : apportion(model.connections, weights)
  return active.map((m, i) => {
    const rate = rates[i] ?? 1
    const auto = Math.min(MAX_AUTO_CONNECTIONS, Math.max(1, Math.ceil(rate * CONNECTIONS_PER_RATE)))
    // autocannon gives each connection at least one request per second: no more connections than rate.
    const connections = Math.min(rate, given?.[i] ?? auto)
    return { cls: m.cls, connections: Math.max(1, connections), rate }
  })
}

/** Scales a load model by `factor` (a storm is 10x the baseline). */
export function scaleModel (model: LoadModel, factor: number): LoadModel {
  if (model.kind === 'closed') return { kind: 'closed', connections: Math.max(1, Math.round(model.connections * factor)) }
  const scaled: LoadModel = { kind: 'open', rate: Math.max(1, Math.round(model.rate * factor)) }
  if (model.connections !== undefined) scaled.connections = Math.max(1, Math.round(model.connections * factor))
  return scaled
}

export interface PacedInstance {
  rate: number
  connections: number
  /** When this instance starts, after the first. */
  offsetMs: number
}

// autocannon paces a connection by letting it send its whole per-second quota at the start of
// each second. Alone, that turns a "fixed arrival rate" into one burst a second; split over
// instances started evenly through the second, the bursts become small and evenly spaced.
const MAX_PACED_INSTANCES = 20

/** How an open-model class is spread over staggered autocannon instances (pure). */
export function staggerPlan (rate: number, connections: number, maxInstances = MAX_PACED_INSTANCES): PacedInstance[] {
  const k = Math.max(1, Math.min(maxInstances, Math.floor(rate), Math.floor(connections)))
  const rates = apportion(rate, Array.from({ length: k }, () => 1))
  const conns = apportion(connections, Array.from({ length: k }, () => 1))
  return rates.map((r, i) => ({ rate: r, connections: Math.max(1, Math.min(r, conns[i] ?? 1)), offsetMs: Math.round((i * 1000) / k) }))
}
