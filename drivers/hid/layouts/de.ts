// German (Germany), keyboard German: QWERTZ (Y and Z swapped), umlauts on the right, AltGr for @ € { [ ] } \ | ~,
// and dead keys ^ ´ ` that compose accented vowels.
import { defineLayout } from './layout.ts';

export const de = defineLayout({
  name: 'de',
  description: 'German (Germany), keyboard German',
  letterMoves: { KeyY: 'z', KeyZ: 'y' },
  table: `
    Backquote     ^*  °
    Digit1        1   !
    Digit2        2   "   ²
    Digit3        3   §   ³
    Digit4        4   $
    Digit5        5   %
    Digit6        6   &
    Digit7        7   /   {
    Digit8        8   (   [
    Digit9        9   )   ]
    Digit0        0   =   }
    Minus         ß   ?   \\
    Equal         ´*  \`*
    BracketLeft   ü   Ü
    BracketRight  +   *   ~
    Semicolon     ö   Ö
    Quote         ä   Ä
    Backslash     #   '
    IntlBackslash <   >   |
    Comma         ,   ;
    Period        .   :
    Slash         -   _
  `,
  altGrLetters: { KeyQ: '@', KeyE: '€', KeyM: 'µ' },
});
