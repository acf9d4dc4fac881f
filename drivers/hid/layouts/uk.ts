// English (United Kingdom), keyboard United Kingdom: an ISO keyboard, # and ~ beside Enter, \ and | beside
// left Shift, " on 2, £ on 3, @ on the quote key; AltGr gives € and the acute vowels.
import { defineLayout } from './layout.ts';

export const uk = defineLayout({
  name: 'uk',
  description: 'English (United Kingdom), keyboard United Kingdom',
  table: `
    Backquote     \`  ¬  ¦
    Digit1        1  !
    Digit2        2  "
    Digit3        3  £
    Digit4        4  $  €
    Digit5        5  %
    Digit6        6  ^
    Digit7        7  &
    Digit8        8  *
    Digit9        9  (
    Digit0        0  )
    Minus         -  _
    Equal         =  +
    BracketLeft   [  {
    BracketRight  ]  }
    Semicolon     ;  :
    Quote         '  @
    Backslash     #  ~
    IntlBackslash \\  |
    Comma         ,  <
    Period        .  >
    Slash         /  ?
  `,
  altGrLetters: { KeyA: 'áÁ', KeyE: 'éÉ', KeyI: 'íÍ', KeyO: 'óÓ', KeyU: 'úÚ' },
});
