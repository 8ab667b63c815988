// Hot spots from a V8 CPU profile (`--cpu-prof`): self time per function and per module, so the
// report can say where the gateway spends its CPU without opening a profiler.

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
}

export interface HotSpot {
  /** A function (`name (file:line)`) or a module (`module: <package or src file>`). */
  name: string
  selfMs: number
  /** Share of the busy (non-idle) samples. */
  share: number
}

const V8_PSEUDO = new Set(['(program)', '(garbage collector)', '(root)'])

/** Where a script URL belongs: an npm package, a file of src/, node internals or V8. */
export function moduleOf (url: string, functionName = ''): string {
  if (V8_PSEUDO.has(functionName)) return functionName
  if (url === '') return '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg?.[1] !== undefined) return pkg[1]
  const src = /\/((?:src|dist|bench|test)\/[^?]+)/.exec(url)
  return src?.[1] ?? url.replace(/^file:\/\//, '')
}

/** The `top` functions and modules by self time, idle excluded (pure). */
export function summariseProfile (profile: CpuProfile, top = 15): { busyMs: number, functions: HotSpot[], modules: HotSpot[] } {
  const allHits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0)
  const msPerHit = allHits > 0 ? (profile.endTime - profile.startTime) / 1000 / allHits : 0
  const byFunction = new Map<string, number>()
  const byModule = new Map<string, number>()
  let busy = 0
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0
    const { functionName, url, lineNumber } = n.callFrame
    if (hits === 0 || functionName === '(idle)') continue
    busy += hits
    const mod = moduleOf(url, functionName)
    const fn = V8_PSEUDO.has(functionName) ? functionName : `${functionName || '(anonymous)'} (${mod}${url === '' ? '' : `:${lineNumber + 1}`})`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits)
    byModule.set(mod, (byModule.get(mod) ?? 0) + hits)
  }
  const rank = (m: Map<string, number>, prefix: string) => [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, hits]) => ({ name: `${prefix}${name}`, selfMs: hits * msPerHit, share: busy > 0 ? hits / busy : 0 }))
  return { busyMs: busy * msPerHit, functions: rank(byFunction, ''), modules: rank(byModule, 'module: ') }
}
