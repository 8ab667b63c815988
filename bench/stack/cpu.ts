// CPU time of the processes under test (Linux /proc), so a report can say how busy each was in
// each phase: on a 2-core machine shared by the gateway, Redis, the mock backend and the load
// generator, a throughput figure means little without knowing who had the CPU.
import { readFile } from 'node:fs/promises'

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat, 100 on every mainstream Linux.
const TICKS_PER_S = 100

/** utime + stime in ms from the text of /proc/<pid>/stat (pure); undefined if unreadable. */
export function cpuMsFromStat (stat: string): number | undefined {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_S : undefined
}

export async function cpuMsOf (pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  try {
    return cpuMsFromStat(await readFile(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/** Busy CPU ms of the whole machine, all cores, from the text of /proc/stat (pure). */
export function machineBusyMs (procStat: string): number | undefined {
  const fields = /^cpu\s+(.*)$/m.exec(procStat)?.[1]?.trim().split(/\s+/).map(Number)
  if (fields === undefined || fields.length < 8 || fields.some(n => !Number.isFinite(n))) return undefined
  // user nice system idle iowait irq softirq steal: all but idle and iowait are work.
  const busy = fields.slice(0, 8).reduce((a, n, i) => i === 3 || i === 4 ? a : a + n, 0)
  return (busy * 1000) / TICKS_PER_S
}

export type CpuSnapshot = Record<string, number>

/**
 * CPU ms so far per named process; `bench` is this process, `machine` all processes on all cores
 * (so its share can exceed one core, and what it has beyond ours was someone else's).
 */
export async function cpuSnapshot (pids: Record<string, number | undefined>): Promise<CpuSnapshot> {
  const out: CpuSnapshot = {}
  const machine = machineBusyMs(await readFile('/proc/stat', 'utf8').catch(() => ''))
  if (machine !== undefined) out.machine = machine
  for (const [name, pid] of Object.entries(pids)) {
    const ms = await cpuMsOf(pid)
    if (ms !== undefined) out[name] = ms
  }
  const own = process.cpuUsage()
  out.bench = (own.user + own.system) / 1000
  return out
}

/** Share of one core each process used between two snapshots taken `elapsedMs` apart (pure). */
export function cpuShares (before: CpuSnapshot, after: CpuSnapshot, elapsedMs: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, ms] of Object.entries(after)) {
    const start = before[name]
    if (start !== undefined && elapsedMs > 0) out[name] = (ms - start) / elapsedMs
  }
  return out
}
