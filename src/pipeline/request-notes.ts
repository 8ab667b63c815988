// What the stages note on a raw request for the stages after them: the address gate may run
// below the router (early-refusals.ts), the other stages inside it. One record of a fixed shape
// under one symbol. A property of the request dies with it, where a WeakMap's values outlived it
// into the old generation (V8's scavenger holds them strongly; 12% of a login's promoted bytes,
// bench/RESULTS.md); one record, made in one place, gives every request the same hidden class.
import { type HeaderFeatures } from './attempt.js'
import { type ClientIdentity } from './identify-client.js'

export interface RequestNotes {
  client: ClientIdentity | undefined
  headerFeatures: HeaderFeatures | undefined
  /** The canary draw's id, made when a canary rule first needs it. */
  drawId: string | undefined
  /** The address gate let the request through: the stage need not decide again. */
  passedGate: boolean
}

const NOTES = Symbol('lg.requestNotes')

export function notesOf (request: object): RequestNotes {
  const holder = request as { [NOTES]?: RequestNotes }
  holder[NOTES] ??= { client: undefined, headerFeatures: undefined, drawId: undefined, passedGate: false }
  return holder[NOTES]
}
