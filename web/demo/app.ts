// The demo login page: sign in, finish a second factor from the outbox, and switch faults on
// to watch each fallback. Every call is one a real client would make, plus /demo/*.
import { startFaultSwitches } from './faults.js'
import { startLoginFlow } from './login-flow.js'
import { startOutbox } from './outbox.js'
import { translatePage } from './strings.js'

translatePage()
const outbox = startOutbox()
startLoginFlow({ onSent: outbox.refresh })
startFaultSwitches()
