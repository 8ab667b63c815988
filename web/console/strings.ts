// The console's translator: English or Chinese, following the browser's language.
import { createTranslator } from '../shared/i18n.js'
import { EN } from './strings-en.js'
import { ZH } from './strings-zh.js'

export const { t, locale, translatePage } = createTranslator({ en: EN, 'zh-CN': ZH })
