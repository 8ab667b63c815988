// A real SMTP server (smtp-server) that captures what it accepts and is scripted per message:
// accept, refuse the recipient as real servers do (quoting the address), or hang after DATA.
import { once } from 'node:events'
import { SMTPServer, type SMTPServerSession } from 'smtp-server'
import { onTestFinished } from 'vitest'

export interface CapturedMail {
  from: string
  to: string[]
  /** The authenticated user, if the client logged in. */
  user?: string
  /** The message as received: headers and body. */
  raw: string
}

export type SmtpReply = { accept: true } | { refuseRecipient: number } | { hang: true }

export interface FakeSmtpSink {
  readonly port: number
  readonly mails: CapturedMail[]
  script: (fn: (n: number) => SmtpReply) => void
  /** SMTP sessions still open. */
  openConnections: () => number
  close: () => Promise<void>
}

export interface SmtpSinkOptions {
  /** Accepted logins; without any, AUTH is still optional. */
  users?: Record<string, string>
}

type DataCallback = (err?: Error | null, message?: string) => void

function smtpError (responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode })
}

export async function startSmtpSink (opts: SmtpSinkOptions = {}): Promise<FakeSmtpSink> {
  let script: (n: number) => SmtpReply = () => ({ accept: true })
  let transactions = 0
  const replies = new Map<string, SmtpReply>()
  const hung: DataCallback[] = []
  const mails: CapturedMail[] = []
  const userOf = (session: SMTPServerSession) => typeof session.user === 'string' ? session.user : undefined

  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 200,
    disableReverseLookup: true,
    onAuth (auth, _session, callback) {
      const known = auth.username !== undefined && opts.users?.[auth.username] === auth.password
      if (!known) return callback(smtpError(535, '5.7.8 Authentication credentials invalid'))
      callback(null, { user: auth.username })
    },
    onRcptTo (address, session, callback) {
      const reply = script(++transactions)
      replies.set(session.id, reply)
      if ('refuseRecipient' in reply) {
        return callback(smtpError(reply.refuseRecipient, `5.1.1 <${address.address}>: Recipient address rejected`))
      }
      callback()
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const reply = replies.get(session.id)
        if (reply !== undefined && 'hang' in reply) { hung.push(callback); return }
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address
        const user = userOf(session)
        mails.push({ from, to: session.envelope.rcptTo.map(r => r.address), ...(user === undefined ? {} : { user }), raw: Buffer.concat(chunks).toString('utf8') })
        callback(null, 'queued')
      })
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as { port: number }

  return {
    port,
    mails,
    script: fn => { script = fn },
    openConnections: () => server.connections.size,
    async close () {
      for (const callback of hung.splice(0)) callback(smtpError(421, 'shutting down'))
      await new Promise<void>(resolve => server.close(resolve))
    }
  }
}

/** Starts an SMTP sink that closes itself when the current test ends. */
export async function smtpSinkForTest (opts?: SmtpSinkOptions): Promise<FakeSmtpSink> {
  const sink = await startSmtpSink(opts)
  onTestFinished(() => sink.close())
  return sink
}
