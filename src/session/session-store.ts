import { type SessionView } from './session-policy.js'

export interface IssuedSession {
  /** The bearer secret: handed to the client once, never stored. */
  token: string
  session: SessionView
  /** Older sessions of the user ended to respect the per-user cap. */
  evicted: number
}

/** Where sessions live. Every method throws GatewayError `session_store_unavailable` when the store is down. */
export interface SessionStore {
  /** Creates a session for the user, evicting the oldest past the per-user cap. */
  issue: (userId: string) => Promise<IssuedSession>
  /** The live session for a token, sliding its idle timeout; null if missing, expired or revoked. */
  validate: (token: string) => Promise<SessionView | null>
  /** Ends one session; false if it did not exist. */
  revoke: (token: string) => Promise<boolean>
  /** The user's live sessions, oldest first. */
  list: (userId: string) => Promise<SessionView[]>
  /** Ends every session of the user (only those created at or before `createdBefore`, if given); returns how many ended. */
  revokeAll: (userId: string, createdBefore?: number) => Promise<number>
}
