// Append-only NDJSON output for the decision and audit logs: a file rotated by size (to
// `<path>.1`), or stdout, or nothing.
import { createWriteStream, renameSync, statSync, type WriteStream } from 'node:fs'

export interface NdjsonSink {
  write: (record: unknown) => void
  close: () => Promise<void>
}

/** `target`: 'off', 'stdout', or a file path. */
export function createNdjsonSink (target: string, maxBytes: number): NdjsonSink {
  if (target === 'off') return { write: () => {}, close: async () => {} }
  if (target === 'stdout') return { write: record => { process.stdout.write(`${JSON.stringify(record)}\n`) }, close: async () => {} }
  let size = sizeOf(target)
  let stream: WriteStream = createWriteStream(target, { flags: 'a' })
  return {
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
