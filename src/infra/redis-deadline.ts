// A command deadline that a stalled event loop cannot turn into a false timeout.
//
// ioredis's own `commandTimeout` is a timer that rejects the command when it fires. After the
// event loop stood still past the deadline (a cold start under peak load, a long GC pause, a
// CPU-starved container), Node runs its timers before it reads the sockets, so a command whose
// reply arrived in time, and sits unread, times out all the same: at a cold start under peak
// load, that failed hundreds of logins whose Redis had answered (bench/RESULTS.md). Here the
// timer only arms a last look: the command fails after the next read of the sockets
// (setImmediate runs after the poll phase) if its reply was not among what came in.
import { type Command, Redis, type RedisOptions } from 'ioredis'

/** ioredis's own message, kept so that every caller recognises a timeout as before. */
export const COMMAND_TIMED_OUT = 'Command timed out'

// The slot ioredis keeps its own command timer in (Command#setTimeout) and clears whenever the
// command settles (Command#_clearTimers, on resolve and on reject). Ours sits there instead, so
// a settled command's timer goes without a handler on the promise the caller holds, and a
// command sent again after a failed attempt (initPromise) is armed afresh, as ioredis would.
type TimerSlot = { _commandTimeoutTimer?: NodeJS.Timeout }

function armDeadline (command: Command, ms: number): void {
  const slot = command as unknown as TimerSlot
  if (slot._commandTimeoutTimer !== undefined) return
  slot._commandTimeoutTimer = setTimeout(() => {
    setImmediate(() => { if (!command.isResolved) command.reject(new Error(COMMAND_TIMED_OUT)) })
  }, ms)
}

/**
 * One node or Sentinel. (A Cluster keeps ioredis's per-node `commandTimeout`: its node
 * connections are made inside ioredis, where no subclass reaches.)
 */
export class DeadlineRedis extends Redis {
  readonly deadlineMs: number

  constructor (deadlineMs: number, ...args: [options: RedisOptions] | [url: string, options: RedisOptions]) {
    super(...(args as [string, RedisOptions]))
    this.deadlineMs = deadlineMs
  }

  override sendCommand (command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    // Unset only while the constructor runs; the connection, and so every command, comes after.
    if (this.deadlineMs !== undefined) armDeadline(command, this.deadlineMs)
    return super.sendCommand(command, stream)
  }
}
