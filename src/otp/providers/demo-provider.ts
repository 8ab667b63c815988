// The demo provider (demo mode only): "delivers" into an in-process outbox that GET /demo/outbox
// shows, so a newcomer can finish a second-factor login by hand. The outbox holds the message
// text, code included; the logs never do.
import { randomUUID } from 'node:crypto'
import { type Channel } from '../challenge.js'
import { otpText } from '../message.js'
import { type DemoFaults } from '../../demo/demo-faults.js'
import { type OtpProvider, ProviderError } from '../provider.js'

export interface OutboxMessage {
  id: string
  at: string
  provider: string
  channel: Channel
  to: string
  text: string
}

export interface Outbox {
  add: (message: OutboxMessage) => void
  /** Newest first. */
  list: () => OutboxMessage[]
}

export function createOutbox (max = 50): Outbox {
  const messages: OutboxMessage[] = []
  return {
    add (message) {
      messages.unshift(message)
      messages.length = Math.min(messages.length, max)
    },
    list: () => [...messages]
  }
}

export function createDemoProvider (name: string, channels: readonly Channel[], outbox: Outbox, faults: DemoFaults): OtpProvider {
  return {
    name,
    channels,
    async send (message, signal) {
      signal.throwIfAborted()
      if (faults.providersDown.has(name)) throw new ProviderError(name, 'down for the demo')
      const id = randomUUID()
      outbox.add({ id, at: new Date().toISOString(), provider: name, channel: message.channel, to: message.to, text: otpText(message.channel, message.code, message.locale) })
      return { messageId: id }
    },
    async close () {}
  }
}
