// Append-only NDJSON output for the decision and audit logs: a file rotated by size (to
// `<path>.1`), or stdout, or nothing.
import { createWriteStream, renameSync, statSync, type WriteStream } from 'node:fs'
import { resolve } from 'node:path'

export interface NdjsonSink {
  /** False for 'off': a caller may skip building what would be dropped. */
  enabled: boolean
  write: (record: unknown) => void
  close: () => Promise<void>
}

// Sinks on one file share its stream within the process: two streams would each rotate it.
const openFiles = new Map<string, { sink: NdjsonSink, users: number }>()

/** `target`: 'off', 'stdout', or a file path. */
export function createNdjsonSink (target: string, maxBytes: number): NdjsonSink {
  if (target === 'off') return { enabled: false, write: () => {}, close: async () => {} }
  if (target === 'stdout') return { enabled: true, write: record => { process.stdout.write(`${JSON.stringify(record)}\n`) }, close: async () => {} }
  const path = resolve(target)
  let open = openFiles.get(path)
  if (open === undefined) openFiles.set(path, open = { sink: createFileSink(path, maxBytes), users: 0 })
  const shared = open
  shared.users++
  let closed = false
  return {
    enabled: true,
    write: record => { shared.sink.write(record) },
    async close () {
      if (closed) return
      closed = true
      if (--shared.users > 0) return
      openFiles.delete(path)
      await shared.sink.close()
    }
  }
}

function createFileSink (target: string, maxBytes: number): NdjsonSink {
  let size = sizeOf(target)
  let stream: WriteStream = createWriteStream(target, { flags: 'a' })
  return {
    enabled: true,
    write (record) {
      const line = `${JSON.stringify(record)}\n`
      if (size > 0 && size + line.length > maxBytes) {
        stream.end() // writes already queued still land in the renamed file
        renameSync(target, `${target}.1`)
        stream = createWriteStream(target, { flags: 'a' })
        size = 0
      }
      stream.write(line)
      size += Buffer.byteLength(line)
    },
    close: () => new Promise(resolve => { stream.end(resolve) })
  }
}

function sizeOf (path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}
