// A virtual client behind one autocannon connection: it says what to send next and learns from
// each answer. Agents are plain state machines, so the driver can stay generic.
import { type Answer, type Step } from '../measure/classify.js'

export interface Outgoing {
  step: Step
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

export interface Agent {
  next: () => Outgoing
  /** The answer to the last request, which took `latencyMs`. */
  answer: (answer: Answer, latencyMs: number) => void
  /** The last request got no answer (timeout or reset) after `latencyMs`. */
  lost: (latencyMs: number) => void
}

/** One agent per connection; `connection` numbers them from 0 for seeding. */
export type AgentFactory = (connection: number) => Agent

/** A cheap request for a connection whose users are all waiting out a Retry-After. */
export const IDLE: Outgoing = { step: 'idle', method: 'GET', path: '/healthz', headers: {} }

/** The value of cookie `name` among Set-Cookie headers, if set (and not being cleared). */
export function cookieValue (setCookies: readonly string[], name: string): string | undefined {
  for (const line of setCookies) {
    const first = line.split(';', 1)[0] ?? ''
    const eq = first.indexOf('=')
    if (eq > 0 && first.slice(0, eq).trim() === name) {
      const value = first.slice(eq + 1).trim()
      return value === '' ? undefined : value
    }
  }
  return undefined
}
