// A command deadline that a stalled event loop cannot turn into a false timeout.
//
// ioredis's own `commandTimeout` is a timer that rejects the command when it fires. After the
// event loop stood still past the deadline (a cold start under peak load, a long GC pause, a
// CPU-starved container), Node runs its timers before it reads the sockets, so a command whose
// reply arrived in time, and sits unread, times out all the same: at a cold start under peak
// load, that failed hundreds of logins whose Redis had answered (bench/RESULTS.md). Here the
// timer only arms a last look: the command fails after the next read of the sockets
// (setImmediate runs after the poll phase) if its reply was not among what came in.
import { Cluster, type Command, Redis } from 'ioredis'

/** ioredis's own message, kept so that every caller recognises a timeout as before. */
export const COMMAND_TIMED_OUT = 'Command timed out'

const armed = Symbol('deadline armed')

function armDeadline (command: Command, ms: number): void {
  // A command sent again (a Cluster redirection) keeps the deadline it got first.
  const c = command as Command & { [armed]?: true }
  if (c[armed] === true) return
  c[armed] = true
  const timer = setTimeout(() => {
    setImmediate(() => { if (!command.isResolved) command.reject(new Error(COMMAND_TIMED_OUT)) })
  }, ms)
  const clear = () => { clearTimeout(timer) }
  command.promise.then(clear, clear)
}

/** One node or Sentinel; `deadlineMs` is set right after construction (connecting is async). */
export class DeadlineRedis extends Redis {
  deadlineMs = 0

  override sendCommand (command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    if (this.deadlineMs > 0) armDeadline(command, this.deadlineMs)
    return super.sendCommand(command, stream)
  }
}

/** A Cluster: the deadline spans the redirections and retries during a failover too. */
export class DeadlineCluster extends Cluster {
  deadlineMs = 0

  override sendCommand (command: Command, stream?: Parameters<Cluster['sendCommand']>[1], node?: unknown): unknown {
    if (this.deadlineMs > 0) armDeadline(command, this.deadlineMs)
    return super.sendCommand(command, stream, node)
  }
}
