// Demo mode's fault switches, so a newcomer can watch each fallback happen: the demo backend
// down or slow, a demo OTP provider down. Shared by the in-process demo backend and providers.
export interface DemoFaults {
  backend: 'up' | 'down' | 'slow'
  /** Names of demo providers that fail every send. */
  providersDown: Set<string>
}

export function createDemoFaults (): DemoFaults {
  return { backend: 'up', providersDown: new Set() }
}

/** How long the demo backend takes when switched to slow: past the default 2 s backend timeout. */
export const SLOW_BACKEND_MS = 3000
