// `npm run bench -- <scenario|all|list> [--duration S] [--connections N] [--rate R] [--target URL]
// [--cpu-prof] [--quiet] [--out DIR]`, parsed and checked (pure).
import { parseArgs } from 'node:util'
import { type LoadModel } from './traffic/mix.js'

export interface BenchArgs {
  scenario: string
  durationS?: number
  connections?: number
  rate?: number
  target?: string
  cpuProf: boolean
  quiet: boolean
  out?: string
  /** Run the gateway from another checkout (a commit unpacked elsewhere), to compare builds. */
  gatewayDir?: string
  /** Run the gateway compiled (node dist/server.js, as in production) instead of through tsx. */
  compiled: boolean
  /** NODE_OPTIONS for the gateway process (e.g. heap limits), to try a setting. */
  nodeOptions?: string
  /** Run the gateway of this commit (git archive into a temporary directory). */
  gatewayCommit?: string
  help: boolean
}

export const USAGE = `usage: npm run bench -- <scenario|all|list> [options]

  --duration S      seconds of measured traffic (scenario default otherwise)
  --connections N   closed model: N connections, each sending when answered
  --rate R          open model: R requests/s arriving whatever the answers take
                    (with --connections too: open model over N connections)
  --target URL      drive a running gateway instead of starting one (fault scenarios skip)
  --cpu-prof        write the gateway's V8 CPU profile and list its hot spots in the report
  --quiet           no progress line
  --out DIR         results directory root (default bench/results)
  --compiled        build src/ to a temporary dist/ and run \`node dist/server.js\` as production
                    does (NODE_ENV=production); default: \`node --import tsx src/server.ts\`
  --node-options=S NODE_OPTIONS for the gateway, e.g. --node-options=--max-old-space-size=112
  --gateway-commit REV  run the gateway of commit REV (exported with git archive), e.g. to
                    record before/after figures of a performance change
  --gateway-dir DIR run the gateway from another checkout of this repository (its
                    src/server.ts), e.g. \`git archive <commit>\` unpacked, to compare builds`

function positive (name: string, raw: string | undefined, max: number, errors: string[]): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0 || n > max) errors.push(`--${name}=${raw}: expected a number above 0 and at most ${max}`)
  return n
}

export function parseBenchArgs (argv: readonly string[]): { ok: true, args: BenchArgs } | { ok: false, error: string } {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string' },
        rate: { type: 'string' },
        target: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        out: { type: 'string' },
        'gateway-dir': { type: 'string' },
        compiled: { type: 'boolean', default: false },
        'node-options': { type: 'string' },
        'gateway-commit': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      }
    })
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
  const { values, positionals } = parsed
  const errors: string[] = []
  const help = values.help === true
  const scenario = positionals[0]
  if (scenario === undefined && !help) errors.push('name a scenario (or all, or list)')
  if (positionals.length > 1) errors.push(`one scenario at a time: ${positionals.join(' ')}`)
  const durationS = positive('duration', values.duration, 600, errors)
  const connections = positive('connections', values.connections, 1000, errors)
  const rate = positive('rate', values.rate, 100_000, errors)
  if (values.target !== undefined && !/^https?:\/\/[^\s/]+/.test(values.target)) errors.push(`--target=${values.target}: expected an http(s) URL`)
  if (errors.length > 0) return { ok: false, error: errors.join('\n') }
  const args: BenchArgs = { scenario: scenario ?? '', cpuProf: values['cpu-prof'] === true, quiet: values.quiet === true, compiled: values.compiled === true, help }
  if (durationS !== undefined) args.durationS = durationS
  if (connections !== undefined) args.connections = Math.round(connections)
  if (rate !== undefined) args.rate = Math.round(rate)
  if (values.target !== undefined) args.target = values.target
  if (values.out !== undefined) args.out = values.out
  if (values['gateway-dir'] !== undefined) args.gatewayDir = values['gateway-dir']
  if (values['node-options'] !== undefined) args.nodeOptions = values['node-options']
  if (values['gateway-commit'] !== undefined) args.gatewayCommit = values['gateway-commit']
  if (args.gatewayCommit !== undefined && args.gatewayDir !== undefined) return { ok: false, error: '--gateway-commit and --gateway-dir: one or the other' }
  return { ok: true, args }
}

/** The load model from the flags, else the scenario's default. */
export function chooseModel (args: Pick<BenchArgs, 'connections' | 'rate'>, fallback: LoadModel): LoadModel {
  if (args.rate !== undefined) return args.connections === undefined ? { kind: 'open', rate: args.rate } : { kind: 'open', rate: args.rate, connections: args.connections }
  if (args.connections !== undefined) return { kind: 'closed', connections: args.connections }
  return fallback
}
