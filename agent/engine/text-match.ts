// Comparing what the screen says with what the run expects: case, accents, spacing and punctuation do not
// count (OCR and a person typing an expectation differ there), letters and digits do, and so does where words
// break. A dot counts as a break: at a low grabber resolution OCR reads the dot of "adele.vance" as a gap, and
// drops the one that ends "Contoso Ltd.", while "adelevance" stays another name.
import { normalizeText } from '../vision/classifier.ts';

function comparable(text: string): string {
  return normalizeText(text).replace(/[^a-z0-9@]+/g, ' ').trim();
}

export function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  return comparable(a ?? '') === comparable(b ?? '');
}
