// The load driver: autocannon instances for every traffic class, all running at once, each
// connection driven by its own agent. autocannon does the HTTP; the agents decide what to send
// and the recorder keeps every answer with its latency and class.
import autocannon from 'autocannon'
import { readAnswer, type Step, type TrafficClass } from '../measure/classify.js'
import { type Recorder } from '../measure/recorder.js'
import { type Agent, type AgentFactory } from './agent.js'
import { staggerPlan } from './mix.js'

export interface LoadSpec {
  cls: TrafficClass
  connections: number
  /** Requests per second for the class (open model); closed model without it. */
  rate?: number
  makeAgent: AgentFactory
}

export interface RunLoadOptions {
  url: string
  durationS: number
  loads: readonly LoadSpec[]
  recorder: Recorder
  signal?: AbortSignal
  /** Polled every 250 ms: true ends the load early (a crowd that has all got in). */
  stopWhen?: () => boolean
  /** Seconds a request may take before autocannon gives up on it. */
  requestTimeoutS?: number
}

export interface LoadResult {
  cls: TrafficClass
  connections: number
  rate: number | undefined
  sent: number
  errors: number
  timeouts: number
}

function wire (client: autocannon.Client, cls: TrafficClass, agent: Agent, recorder: Recorder): void {
  let pending: Step | undefined
  let sentAt = 0
  let answered = false
  client.setRequests([{
    setupRequest (request) {
      // A new request while the last is unanswered: autocannon reconnected after a timeout or reset.
      if (pending !== undefined && !answered) {
        const latency = performance.now() - sentAt
        if (pending !== 'idle') recorder.lost(cls, pending, latency)
        agent.lost(latency)
      }
      const out = agent.next()
      pending = out.step
      answered = false
      sentAt = performance.now()
      return { ...request, method: out.method, path: out.path, headers: out.headers, body: out.body ?? '' }
    },
    onResponse (status, body, _context, headers) {
      const answer = readAnswer(status, body, headers ?? {})
      const latency = performance.now() - sentAt
      answered = true
      agent.answer(answer, latency)
      if (pending !== undefined && pending !== 'idle') recorder.answer(cls, pending, answer, latency)
    }
  }])
}

interface Instance {
  stop: () => void
  done: Promise<Omit<LoadResult, 'cls' | 'rate'>>
}

function start (o: RunLoadOptions, cls: TrafficClass, connections: number, rate: number | undefined, durationS: number, agents: () => Agent): Instance {
  let resolveDone: (r: Omit<LoadResult, 'cls' | 'rate'>) => void = () => {}
  const done = new Promise<Omit<LoadResult, 'cls' | 'rate'>>(resolve => { resolveDone = resolve })
  const instance = autocannon({
    url: o.url,
    connections,
    duration: Math.max(0.1, durationS),
    timeout: o.requestTimeoutS ?? 10,
    // autocannon checks for the end of the run once per sample: sample often to end on time.
    sampleInt: 100,
    ...(rate === undefined ? {} : { overallRate: rate }),
    setupClient: client => wire(client, cls, agents(), o.recorder)
  }, (err: unknown, result: autocannon.Result) => {
    const failed = err !== null && err !== undefined
    resolveDone({ connections, sent: failed ? 0 : result.requests.sent, errors: failed ? 1 : result.errors, timeouts: failed ? 0 : result.timeouts })
  })
  return { stop: () => instance.stop(), done }
}

/** One class: closed model in one instance; open model paced over staggered instances. */
async function runClass (o: RunLoadOptions, spec: LoadSpec, register: (stop: () => void) => void): Promise<LoadResult> {
  let connection = 0
  const agents = () => spec.makeAgent(connection++)
  const parts = spec.rate === undefined
    ? [{ rate: undefined, connections: spec.connections, offsetMs: 0 }]
    : staggerPlan(spec.rate, spec.connections)
  const results = await Promise.all(parts.map(async p => {
    if (p.offsetMs > 0) await new Promise(resolve => setTimeout(resolve, p.offsetMs))
    if (o.signal?.aborted === true) return { connections: 0, sent: 0, errors: 0, timeouts: 0 }
    // Staggered instances end together: each runs for what is left of the phase.
    const instance = start(o, spec.cls, p.connections, p.rate, o.durationS - p.offsetMs / 1000, agents)
    register(instance.stop)
    return await instance.done
  }))
  const sum = (k: 'connections' | 'sent' | 'errors' | 'timeouts') => results.reduce((a, r) => a + r[k], 0)
  return { cls: spec.cls, rate: spec.rate, connections: sum('connections'), sent: sum('sent'), errors: sum('errors'), timeouts: sum('timeouts') }
}

/** Runs every class's load for `durationS` (or until stopped) and resolves when all are done. */
export async function runLoad (o: RunLoadOptions): Promise<LoadResult[]> {
  const stops: Array<() => void> = []
  let stopped = false
  const stopAll = () => { stopped = true; for (const stop of stops) stop() }
  const register = (stop: () => void) => { stops.push(stop); if (stopped) stop() }
  o.signal?.addEventListener('abort', stopAll, { once: true })
  // Bounded in time whatever happens: autocannon's own timer, then this backstop.
  const backstop = setTimeout(stopAll, (o.durationS + 15) * 1000)
  const poll = o.stopWhen === undefined ? undefined : setInterval(() => { if (o.stopWhen?.() === true) stopAll() }, 250)
  try {
    return await Promise.all(o.loads.map(async spec => await runClass(o, spec, register)))
  } finally {
    clearTimeout(backstop)
    if (poll !== undefined) clearInterval(poll)
    o.signal?.removeEventListener('abort', stopAll)
  }
}
