// English or Simplified Chinese, following the browser's language, as the gateway does for
// Accept-Language: every Chinese variant gets Simplified Chinese, everything else English.

export type Locale = 'en' | 'zh-CN'
export type Dictionary<K extends string> = Record<Locale, Record<K, string>>
export type Params = Record<string, string | number>

export function browserLocale (): Locale {
  const lang = (navigator.language || 'en').toLowerCase()
  return lang === 'zh' || lang.startsWith('zh-') ? 'zh-CN' : 'en'
}

export interface Translator<K extends string> {
  locale: Locale
  t: (key: K, params?: Params) => string
  /** Replaces the text of every `[data-i18n]` element under `root` (the HTML holds the English). */
  translatePage: (root?: ParentNode) => void
}

export function createTranslator<K extends string> (dict: Dictionary<K>, locale: Locale = browserLocale()): Translator<K> {
  const words = dict[locale]
  const t = (key: K, params: Params = {}) =>
    words[key].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] === undefined ? whole : String(params[name]))
  function translatePage (root: ParentNode = document): void {
    document.documentElement.lang = locale
    for (const node of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
      const key = node.dataset.i18n ?? ''
      if (key in words) node.textContent = t(key as K)
    }
  }
  return { locale, t, translatePage }
}

/** A time of day in the reader's locale and time zone, e.g. "14:05" or "2:05 PM". */
export function formatTime (iso: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(new Date(iso))
}

export function formatDateTime (iso: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso))
}
