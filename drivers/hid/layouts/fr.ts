// French (France), keyboard French: AZERTY (A/Q, Z/W swapped, M beside L), digits with Shift, accented
// letters on the digit row, AltGr for ~ # { [ | \` \\ ^ @ ] } €, dead keys ^ and ¨ that compose vowels.
import { defineLayout } from './layout.ts';

export const fr = defineLayout({
  name: 'fr',
  description: 'French (France), keyboard French',
  letterMoves: { KeyQ: 'a', KeyA: 'q', KeyW: 'z', KeyZ: 'w', Semicolon: 'm' },
  table: `
    Backquote     ²   __
    Digit1        &   1
    Digit2        é   2   ~*
    Digit3        "   3   #
    Digit4        '   4   {
    Digit5        (   5   [
    Digit6        -   6   |
    Digit7        è   7   \`*
    Digit8        _   8   \\
    Digit9        ç   9   ^
    Digit0        à   0   @
    Minus         )   °   ]
    Equal         =   +   }
    BracketLeft   ^*  ¨*
    BracketRight  $   £   ¤
    Quote         ù   %
    Backslash     *   µ
    IntlBackslash <   >
    KeyM          ,   ?
    Comma         ;   .
    Period        :   /
    Slash         !   §
  `,
  altGrLetters: { KeyE: '€' },
});
