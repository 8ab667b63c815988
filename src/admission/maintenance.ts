// Maintenance windows, immediate or scheduled, as plain data and pure decisions.
import { type Locale } from '../errors.js'

export interface MaintenanceWindow {
  /** Epoch ms; absent = from now on. */
  from?: number
  until: number
  message?: Partial<Record<Locale, string>>
  /** A scheduled window called off before it began: no maintenance, and no re-admission ramp. */
  cancelled?: boolean
}

export type MaintenancePhase = 'none' | 'scheduled' | 'active' | 'ended'

export function maintenancePhase (w: MaintenanceWindow | null, now: number): MaintenancePhase {
  if (w === null || w.cancelled === true) return 'none'
  if (now >= w.until) return 'ended'
  if (w.from !== undefined && now < w.from) return 'scheduled'
  return 'active'
}

/** The message in the reader's language, else in the other one, else nothing. */
export function maintenanceNote (w: MaintenanceWindow, locale: Locale): string {
  return w.message?.[locale] ?? w.message?.en ?? w.message?.['zh-CN'] ?? ''
}
