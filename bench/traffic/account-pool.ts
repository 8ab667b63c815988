// The honest population: accounts with their own address, browser and cookie jar, lent to one
// connection at a time (a user never runs two logins at once) and handed back when a flow
// ends. Accounts told to wait (Retry-After) are skipped until their time comes.
import { type Random, honestAddress, seededRandom } from './addresses.js'
import { type BrowserIdentity, browserIdentity } from './headers.js'
import { hasSecondFactor, honestEmail, honestPassword, honestPhone, honestUsername } from './population.js'

export interface Account {
  n: number
  username: string
  password: string
  address: string
  phone?: string
  email?: string
  identity: BrowserIdentity
  /** Posts the login form as form-urlencoded rather than JSON. */
  form: boolean
  /** The trusted-device cookie value, once a login completed. */
  did?: string
  /** Clock time (ms) before which this user does not try again. */
  notBefore: number
  logins: number
}

export interface PopulationOptions {
  indices: readonly number[]
  /** Share of users behind carrier-grade NAT, and how many NAT addresses they share. */
  natShare: number
  natAddresses: number
  formShare: number
  seed: number
}

export function buildAccounts (o: PopulationOptions): Account[] {
  const random: Random = seededRandom(o.seed)
  return o.indices.map(n => ({
    n,
    username: honestUsername(n),
    password: honestPassword(n),
    // By account number, not position: two populations (a warm-up's and the measured one) never
    // share a home address.
    address: honestAddress(n, o.natShare, o.natAddresses),
    ...(hasSecondFactor(n) ? { phone: honestPhone(n), email: honestEmail(n) } : {}),
    identity: browserIdentity(random),
    form: random() < o.formShare,
    notBefore: 0,
    logins: 0
  }))
}

export interface AccountPool {
  /** A user ready to log in now, or undefined when every free one is still waiting. */
  checkout: (now: number) => Account | undefined
  /** The user's flow ended; they will log in again later. */
  checkin: (account: Account) => void
  /** The user is done for this run (a crowd member who got in). */
  retire: (account: Account) => void
  /** Users not retired yet: ready, waiting or lent out. */
  remaining: () => number
  readonly accounts: readonly Account[]
}

// Bounded search per checkout: the queue is roughly in wake-up order, so a few looks suffice.
const LOOKS = 64

export function createAccountPool (accounts: readonly Account[]): AccountPool {
  const ring: Array<Account | undefined> = [...accounts]
  let head = 0
  let count = accounts.length
  let retired = 0
  const push = (a: Account) => {
    ring[(head + count) % ring.length] = a
    count++
  }
  const shift = (): Account | undefined => {
    if (count === 0) return undefined
    const a = ring[head]
    ring[head] = undefined
    head = (head + 1) % ring.length
    count--
    return a
  }
  return {
    checkout (now) {
      for (let i = Math.min(count, LOOKS); i > 0; i--) {
        const a = shift()
        if (a === undefined) return undefined
        if (a.notBefore <= now) return a
        push(a)
      }
      return undefined
    },
    checkin: push,
    retire () { retired++ },
    remaining: () => accounts.length - retired,
    accounts
  }
}
