// The words around a code, per channel and locale. Voice spells the digits out one by one.
import { type Locale } from '../errors.js'
import { type Channel } from './challenge.js'

const TEXT: Record<Locale, { sms: string, voice: string, subject: string, email: string }> = {
  en: {
    sms: 'Your verification code is {code}. Never share it with anyone.',
    voice: 'Your verification code is: {code}. Again: {code}.',
    subject: 'Your verification code',
    email: 'Your verification code is {code}.\n\nIf you did not try to sign in, ignore this message and never share the code.'
  },
  'zh-CN': {
    sms: '您的验证码是 {code}，请勿告诉任何人。',
    voice: '您的验证码是：{code}。重复一遍：{code}。',
    subject: '您的验证码',
    email: '您的验证码是 {code}。\n\n如果不是您本人在登录，请忽略本邮件，并且不要把验证码告诉任何人。'
  }
}

export function otpText (channel: Channel, code: string, locale: Locale): string {
  const spoken = channel === 'voice' ? code.split('').join(' ') : code
  return TEXT[locale][channel].replaceAll('{code}', spoken)
}

export function otpSubject (locale: Locale): string {
  return TEXT[locale].subject
}
