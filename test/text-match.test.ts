// What the run expects against what the configuration screen showed, as OCR reads it: the slips OCR makes at a
// low grabber resolution (a dot read as a gap or dropped at the end) are the same text; other letters, digits
// or word breaks are another value, and the device is not provisioned.
import { describe, expect, it } from 'vitest';
import { sameText } from '../agent/engine/text-match.ts';

describe('expected against seen', () => {
  it('is the same text through case, accents, spacing, and a dot read as a gap or lost at the end', () => {
    expect(sameText('adele.vance@contoso.com', 'adele vance@contoso.com')).toBe(true); // read at 1024x768
    expect(sameText('adele.vance@contoso.com', 'Adele.Vance@Contoso.com')).toBe(true);
    expect(sameText('Contoso Ltd.', 'Contoso Ltd')).toBe(true);
    expect(sameText('Lab pre-provisioning', 'Lab pre provisioning')).toBe(true);
    expect(sameText('Société Générale', 'Societe  Generale')).toBe(true);
  });

  it('is another value when a letter, a digit, the @ or a word break differs', () => {
    expect(sameText('adele.vance@contoso.com', 'adelevance@contoso.com')).toBe(false);
    expect(sameText('adele.vance@contoso.com', 'adele.vance@contoso.co')).toBe(false);
    expect(sameText('adele.vance@contoso.com', 'adele.vance contoso.com')).toBe(false);
    expect(sameText('Lab pre-provisioning', 'Lab pre-provisioning 2')).toBe(false);
    expect(sameText('Contoso', 'Fabrikam')).toBe(false);
    expect(sameText('Contoso', null)).toBe(false);
  });
});
