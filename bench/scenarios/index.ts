// Every scenario, in the order `all` runs them.
import { attackMemory } from './attack-memory.js'
import { backendBrownout } from './backend-brownout.js'
import { coldStart } from './cold-start.js'
import { credentialStuffing } from './credential-stuffing.js'
import { otpOutage } from './otp-outage.js'
import { overhead } from './overhead.js'
import { peakLogin } from './peak-login.js'
import { postMaintenance } from './post-maintenance.js'
import { redisOutage } from './redis-outage.js'
import { type Scenario } from './types.js'

export const SCENARIOS: readonly Scenario[] = [peakLogin, credentialStuffing, coldStart, backendBrownout, otpOutage, redisOutage, postMaintenance, overhead, attackMemory]

export function findScenario (name: string): Scenario | undefined {
  return SCENARIOS.find(s => s.name === name)
}
