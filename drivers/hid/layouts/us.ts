// English (United States), keyboard US: the layout Windows setup starts with.
import { defineLayout } from './layout.ts';

export const us = defineLayout({
  name: 'us',
  description: 'English (United States), keyboard US',
  table: `
    Backquote     \`  ~
    Digit1        1  !
    Digit2        2  @
    Digit3        3  #
    Digit4        4  $
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
    Backslash     \\  |
    Semicolon     ;  :
    Quote         '  "
    Comma         ,  <
    Period        .  >
    Slash         /  ?
  `,
});
