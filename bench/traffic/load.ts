// The load driver: one autocannon instance per traffic class, all running at once, each
// connection driven by its own agent. autocannon does the HTTP; the agents decide what to send
// and the recorder keeps every answer with its latency and class.
import autocannon from 'autocannon'
import { readAnswer, type Step, type TrafficClass } from '../measure/classify.js'
import { type Recorder } from '../measure/recorder.js'
import { type AgentFactory } from './agent.js'

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
  durationS: number
}

function wire (client: autocannon.Client, cls: TrafficClass, agent: ReturnType<AgentFactory>, recorder: Recorder): void {
  let pending: Step | undefined
  let sentAt = 0
  let answered = false
  client.setRequests([{
    setupRequest (request) {
      // A new request while the last is unanswered: autocannon reconnected after a timeout or reset.
      if (pending !== undefined && !answered) {
        recorder.lost(cls, pending, performance.now() - sentAt)
        agent.lost()
      }
      const out = agent.next()
      pending = out.step
      answered = false
      sentAt = performance.now()
      return { ...request, method: out.method, path: out.path, headers: out.headers, body: out.body ?? '' }
    },
    onResponse (status, body, _context, headers) {
      const answer = readAnswer(status, body, headers ?? {})
      answered = true
      agent.answer(answer)
      if (pending !== undefined && pending !== 'idle') recorder.answer(cls, pending, answer, performance.now() - sentAt)
    }
  }])
}

async function runOne (o: RunLoadOptions, spec: LoadSpec): Promise<{ instance: autocannon.Instance, done: Promise<LoadResult> }> {
  let connection = 0
  let resolveDone: (r: LoadResult) => void = () => {}
  const done = new Promise<LoadResult>(resolve => { resolveDone = resolve })
  const instance = autocannon({
    url: o.url,
    connections: spec.connections,
    duration: o.durationS,
    timeout: o.requestTimeoutS ?? 10,
    ...(spec.rate === undefined ? {} : { overallRate: spec.rate }),
    setupClient: client => wire(client, spec.cls, spec.makeAgent(connection++), o.recorder)
  }, (err: unknown, result: autocannon.Result) => {
    if (err !== null && err !== undefined) {
      resolveDone({ cls: spec.cls, connections: spec.connections, rate: spec.rate, sent: 0, errors: 1, timeouts: 0, durationS: 0 })
      return
    }
    resolveDone({ cls: spec.cls, connections: spec.connections, rate: spec.rate, sent: result.requests.sent, errors: result.errors, timeouts: result.timeouts, durationS: result.duration })
  })
  return { instance, done }
}

/** Runs every class's load for `durationS` (or until stopped) and resolves when all are done. */
export async function runLoad (o: RunLoadOptions): Promise<LoadResult[]> {
  const runs = await Promise.all(o.loads.map(async spec => await runOne(o, spec)))
  const stopAll = () => { for (const r of runs) r.instance.stop() }
  const onAbort = () => stopAll()
  o.signal?.addEventListener('abort', onAbort, { once: true })
  // Bounded in time whatever happens: autocannon's own timer, then this backstop.
  const backstop = setTimeout(stopAll, (o.durationS + 15) * 1000)
  const poll = o.stopWhen === undefined
    ? undefined
    : setInterval(() => { if (o.stopWhen?.() === true) stopAll() }, 250)
  try {
    return await Promise.all(runs.map(async r => await r.done))
  } finally {
    clearTimeout(backstop)
    if (poll !== undefined) clearInterval(poll)
    o.signal?.removeEventListener('abort', onAbort)
  }
}
