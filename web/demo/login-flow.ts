// Sign-in: the password step, a proof-of-work challenge solved in the browser when a rule or
// limit asks for one, the second factor (otp-step.ts), and the signed-in state.
import { byId } from '../shared/dom.js'
import { callApi, type PowOffer } from '../shared/http.js'
import { formatTime } from '../shared/i18n.js'
import { solvePow } from '../shared/pow.js'
import { clearRegion, showMessage, showProblem } from '../shared/problem-view.js'
import { type Authenticated, createOtpStep, type OtpRequired } from './otp-step.js'
import { locale, t } from './strings.js'

export function startLoginFlow (o: { onSent: () => void }): void {
  const form = byId<HTMLFormElement>('login-form')
  const username = byId<HTMLInputElement>('username')
  const password = byId<HTMLInputElement>('password')
  const submit = form.querySelector('button[type="submit"]') as HTMLButtonElement
  const signedIn = byId('signed-in')
  const status = byId('login-status')
  const otp = createOtpStep({ status, onSent: o.onSent, onAuthenticated: showSignedIn, onRestart: showForm })

  function showForm (): void {
    otp.hide()
    signedIn.hidden = true
    form.hidden = false
    username.focus()
  }

  function showSignedIn (session: Authenticated): void {
    otp.hide()
    form.hidden = true
    signedIn.hidden = false
    password.value = ''
    showMessage(status, t('signedIn', { userId: session.userId, time: formatTime(session.expiresAt, locale) }), 'success')
    byId('sign-out').focus()
  }

  async function login (challengeResponse?: string): Promise<void> {
    showMessage(status, t('signingIn'))
    const result = await callApi<Authenticated | OtpRequired>('/auth/login', {
      json: { username: username.value, password: password.value },
      headers: challengeResponse === undefined ? {} : { 'x-challenge-response': challengeResponse }
    })
    if (result.ok) {
      if (result.body.status === 'authenticated') showSignedIn(result.body)
      else {
        form.hidden = true
        otp.begin(result.body)
      }
      return
    }
    const offer = result.problem.challenge
    // One solved challenge per attempt: a second refusal is shown, never looped on.
    if (result.problem.code === 'challenge_required' && offer?.type === 'pow' && challengeResponse === undefined) return await solveAndRetry(offer)
    showProblem(status, result.problem)
  }

  async function solveAndRetry (offer: PowOffer): Promise<void> {
    showMessage(status, t('solving', { difficulty: offer.difficulty }))
    let solution: string
    try {
      solution = await solvePow(offer.token, offer.difficulty)
    } catch (err) {
      showMessage(status, t('challengeFailed', { reason: (err as Error).message }))
      return
    }
    await login(`pow ${offer.token}:${solution}`)
  }

  form.addEventListener('submit', event => {
    event.preventDefault()
    submit.disabled = true
    login().finally(() => { submit.disabled = false })
  })

  byId('sign-out').addEventListener('click', () => {
    callApi('/auth/logout', { method: 'POST' }).then(result => {
      if (!result.ok) return showProblem(status, result.problem)
      clearRegion(status)
      showForm()
      showMessage(status, t('signedOut'))
    }, () => undefined)
  })
}
