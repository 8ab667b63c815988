// The second factor: the channels the gateway offers with the masked destination, a send per
// channel (and "send by voice instead" when a channel's providers all fail), then the code.
import { byId, el } from '../shared/dom.js'
import { callApi } from '../shared/http.js'
import { channelName, clearRegion, showMessage, showProblem } from '../shared/problem-view.js'
import { t } from './strings.js'

export interface Authenticated { status: 'authenticated', userId: string, expiresAt: string }
export interface OtpRequired { status: 'otp_required', challengeId: string, channels: string[], destination: string }
interface Sent { status: 'sent', channel: string, destination: string, resendAfter: number }

export interface OtpStepOptions {
  status: HTMLElement
  onSent: () => void
  onAuthenticated: (session: Authenticated) => void
  onRestart: () => void
}

export function createOtpStep (o: OtpStepOptions) {
  const step = byId('otp-step')
  const intro = byId('otp-intro')
  const channels = byId('otp-channels')
  const form = byId<HTMLFormElement>('otp-form')
  const code = byId<HTMLInputElement>('otp-code')
  let challengeId = ''

  async function send (channel: string): Promise<void> {
    showMessage(o.status, t('sending'))
    const result = await callApi<Sent>('/auth/otp/send', { json: { challengeId, channel } })
    o.onSent()
    if (!result.ok) {
      showProblem(o.status, result.problem, { onAlternative: other => { send(other) } })
      return
    }
    const { channel: used, destination, resendAfter } = result.body
    showMessage(o.status, t('sent', { channel: channelName(used), destination, seconds: resendAfter }))
    form.hidden = false
    code.focus()
  }

  async function verify (): Promise<void> {
    const result = await callApi<Authenticated>('/auth/otp/verify', { json: { challengeId, code: code.value.trim() } })
    if (result.ok) return o.onAuthenticated(result.body)
    showProblem(o.status, result.problem)
  }

  form.addEventListener('submit', event => {
    event.preventDefault()
    verify()
  })
  byId('otp-restart').addEventListener('click', () => { o.onRestart() })

  return {
    begin (answer: OtpRequired): void {
      challengeId = answer.challengeId
      code.value = ''
      form.hidden = true
      step.hidden = false
      intro.textContent = t('otpIntro', { destination: answer.destination })
      const buttons = answer.channels.map(channel => {
        const button = el('button', { type: 'button', 'data-channel': channel }, t('sendBy', { channel: channelName(channel) }))
        button.addEventListener('click', () => { send(channel) })
        return button
      })
      channels.replaceChildren(...buttons)
      clearRegion(o.status)
      // Focus lands in the group labelled "One-time code": that is the announcement.
      buttons[0]?.focus()
    },
    hide (): void {
      step.hidden = true
      challengeId = ''
    }
  }
}
