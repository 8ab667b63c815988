// A value kept on a raw request for the stages after the one that computed it (the address gate
// runs below the router, the stages after it inside). A property on the request, not a WeakMap:
// V8's scavenger keeps the values of a long-lived WeakMap alive as if held strongly, so every
// request's entries outlived it into the old generation (12% of a login's promoted bytes,
// bench/RESULTS.md), to be found only by the next mark-compact.
export interface PerRequest<T> {
  get: (request: object) => T | undefined
  set: (request: object, value: T) => void
}

export function perRequest<T> (name: string): PerRequest<T> {
  const key = Symbol(name)
  return {
    get: request => (request as Record<symbol, T | undefined>)[key],
    set: (request, value) => { (request as Record<symbol, T | undefined>)[key] = value }
  }
}
