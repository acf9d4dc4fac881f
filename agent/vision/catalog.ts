// Loads the screen catalog (flows/screens.yaml) and checks it, so a typo fails at start with the file and
// the field named, not as a screen that silently never matches.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { OsId, ScreenId } from './types.ts';

export const CATALOG_PATH = fileURLToPath(new URL('../../flows/screens.yaml', import.meta.url));

/** Screen ids that the catalog describes by their texts (a black or uniform frame is no-signal before any text is read). */
export const CATALOG_SCREENS = [
  'no-signal', 'oobe-busy', 'oobe-region', 'oobe-keyboard', 'oobe-keyboard-second', 'oobe-network', 'oobe-eula',
  'entra-signin', 'provisioning-options', 'provisioning-config', 'esp', 'provisioning-success',
  'provisioning-failure', 'oobe-consumer-setup', 'msa-signin', 'oobe-device-name', 'oobe-privacy', 'windows-login',
] as const satisfies readonly ScreenId[];

const range = z.tuple([z.number().min(-255).max(255), z.number().min(-255).max(255)]);

/** Region names: lower case words joined by dashes (`w11-title`). */
const regionName = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a region name such as w11-title');
/** What a region of a screen is for: `title` is read first; texts and fields say `in:` which one they are in. */
const roleName = z.enum(['title', 'body', 'list', 'footer', 'qr']);
export type RegionRole = z.infer<typeof roleName>;

const fraction = z.number().min(0).max(1);
const RegionSchema = z.strictObject({
  /** [x0, y0, x1, y1] as fractions of the active picture (the frame without letterbox bars), so any size works. */
  box: z.tuple([fraction, fraction, fraction, fraction])
    .refine(([x0, y0, x1, y1]) => x1 > x0 && y1 > y0, 'box must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0'),
  /** How OCR lays the region out: block (lines of one column, the default) or sparse (scattered labels: buttons). */
  layout: z.enum(['block', 'sparse']).default('block'),
  /** Height (OCR pixels) its text lines are scaled to for OCR, when not the usual (TARGET_LINE_PX): OCR time
   * grows with it; lower only where text is big (titles). */
  textPx: z.number().int().min(12).max(32).optional(),
});

const LookSchema = z.strictObject({
  /** Title regions to try first on a frame of this look, most likely first. */
  titles: z.array(regionName).default([]),
  luma: range.optional(),
  /** blue minus red, of the frame's mean colour */
  blueExcess: range.optional(),
  /** green minus the larger of red and blue */
  greenExcess: range.optional(),
  /** red minus the larger of green and blue */
  redExcess: range.optional(),
});

const AnchorSchema = z.strictObject({
  text: z.string().min(1),
  threshold: z.number().min(0.5).max(1),
  /** The region (role) of the screen where the text is; the title unless told. */
  in: roleName.default('title'),
});

const listArea = {
  /** Items are below the lowest of these texts (the title, a paragraph). */
  after: z.array(z.string().min(1)).min(1),
  /** ... and above the lowest of these (the page's buttons). */
  before: z.array(z.string().min(1)).default([]),
  /** Item texts the page is known to show: an item read within OCR slips of one ("Setup" for "Set up",
   * "us" for "US") is reported as that text. */
  known: z.array(z.string().min(1)).default([]),
};

/** The region (role) a field is read from; the body unless told. */
const fieldIn = { in: roleName.default('body') };

const FieldSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('label'),
    label: z.string().min(1),
    none: z.string().optional(),
    format: z.enum(['text', 'elapsed']).default('text'),
    ...fieldIn,
  }),
  z.strictObject({
    kind: z.literal('pattern'),
    regex: z.string().min(1).refine((r) => { try { new RegExp(r, 'i'); return true; } catch { return false; } }, 'not a valid regular expression'),
    ...fieldIn,
  }),
  z.strictObject({
    kind: z.literal('follows'),
    /** The value is what follows this text on its line ("Welcome to ORG!"), found fuzzily. */
    text: z.string().min(1),
    threshold: z.number().min(0.5).max(1).default(0.8),
    ...fieldIn,
  }),
  z.strictObject({
    kind: z.literal('error-code'),
    /** Codes the screens are known to show: a reading that OCR's look-alikes (8/B, 0/D) make one of them, and
     * no other, is reported as that one. */
    known: z.array(z.string().regex(/^0x[0-9A-F]{8}$/, 'an error code such as 0x800705B4')).default([]),
    ...fieldIn,
  }),
  z.strictObject({
    kind: z.literal('message'),
    /** matched: the oneOf text that matched; after: the lines under `anchor` */
    from: z.enum(['matched', 'after']),
    anchor: z.string().min(1).optional(),
    ...fieldIn,
  }).refine((f) => f.from !== 'after' || f.anchor, { message: 'from: after needs an anchor text', path: ['anchor'] }),
  z.strictObject({ kind: z.literal('list'), ...listArea, exclude: z.array(z.string().min(1)).default([]), ...fieldIn }),
  z.strictObject({ kind: z.literal('selected'), ...listArea, ...fieldIn }),
  z.strictObject({
    kind: z.literal('esp'),
    phases: z.array(z.string().min(1)).min(1),
    states: z.record(z.string().min(1), z.enum(['complete', 'in-progress', 'waiting', 'error', 'not-started'])),
    /** the items the phases list; an item read within OCR slips of one is reported as that text */
    items: z.array(z.string().min(1)).default([]),
    ...fieldIn,
  }),
]);

const FieldsSchema = z.strictObject({
  organization: FieldSchema.optional(),
  profile: FieldSchema.optional(),
  user: FieldSchema.optional(),
  elapsed: FieldSchema.optional(),
  errorCode: FieldSchema.optional(),
  message: FieldSchema.optional(),
  options: FieldSchema.optional(),
  selected: FieldSchema.optional(),
  networks: FieldSchema.optional(),
  esp: FieldSchema.optional(),
});

const TextsSchema = z.strictObject({
  anchors: z.array(AnchorSchema).default([]),
  oneOf: z.array(AnchorSchema).default([]),
  not: z.array(AnchorSchema).default([]),
  buttons: z.array(z.string().min(1)).default([]),
  fields: FieldsSchema.default({}),
}).refine((t) => t.anchors.length + t.oneOf.length > 0, 'a screen needs at least one text in anchors or oneOf');

const OsEntrySchema = z.object({
  look: z.array(z.string().min(1)),
  qr: z.enum(['required', 'optional', 'absent']).default('absent'),
  /** Where this screen's texts, fields and QR code are: role -> region name(s) of `regions`. */
  regions: z.partialRecord(roleName, z.union([regionName, z.array(regionName).min(1)])),
}).catchall(TextsSchema);

const CatalogSchema = z.strictObject({
  version: z.literal(1),
  regions: z.record(regionName, RegionSchema),
  looks: z.record(z.string().min(1), LookSchema),
  screens: z.strictObject(Object.fromEntries(CATALOG_SCREENS.map((id) => [id, z.strictObject({
    win10: OsEntrySchema.optional(),
    win11: OsEntrySchema.optional(),
  })])) as unknown as Record<(typeof CATALOG_SCREENS)[number], z.ZodOptional<z.ZodType>>).partial(),
});

export type Anchor = z.infer<typeof AnchorSchema>;
export type RegionSpec = z.infer<typeof RegionSchema>;
export type Look = z.infer<typeof LookSchema>;
export type FieldSpec = z.infer<typeof FieldSchema>;
export type FieldSpecs = z.infer<typeof FieldsSchema>;
export type ScreenTexts = z.infer<typeof TextsSchema>;

/** One screen as one OS shows it in one language. */
export interface ScreenVariant {
  screen: ScreenId;
  os: OsId;
  lang: string;
  look: string[];
  qr: 'required' | 'optional' | 'absent';
  /** Role -> the names of the catalog regions it covers (title always present). */
  regions: Partial<Record<RegionRole, string[]>> & { title: string[] };
  texts: ScreenTexts;
}

export interface Catalog {
  regions: Record<string, RegionSpec>;
  looks: Record<string, Look>;
  variants: ScreenVariant[];
}

/** Parses and checks catalog text; errors name the source and the field (e.g. screens.esp.win11.en-US.anchors.0.threshold). */
export function parseCatalog(text: string, source = 'screens.yaml'): Catalog {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${source}: not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = CatalogSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`${source}: invalid screen catalog: ${issues.join('; ')}`);
  }
  const { looks, regions } = parsed.data;
  const bad = (where: string, why: string) => new Error(`${source}: invalid screen catalog: ${where}: ${why}`);
  const knownRegion = (where: string, name: string) => {
    if (!regions[name]) throw bad(where, `unknown region "${name}" (known: ${Object.keys(regions).join(', ')})`);
  };
  for (const [name, look] of Object.entries(looks)) look.titles.forEach((r, i) => knownRegion(`looks.${name}.titles.${i}`, r));
  const variants: ScreenVariant[] = [];
  for (const [screen, perOs] of Object.entries(parsed.data.screens) as [ScreenId, Record<string, unknown> | undefined][]) {
    if (!perOs) continue;
    for (const os of ['win10', 'win11'] as const) {
      const entry = perOs[os] as (z.infer<typeof OsEntrySchema> | undefined);
      if (!entry) continue;
      for (const name of entry.look) {
        if (!looks[name]) throw new Error(`${source}: invalid screen catalog: screens.${screen}.${os}.look: unknown look "${name}" (known: ${Object.keys(looks).join(', ')})`);
      }
      const { look, qr, regions: roles, ...langs } = entry;
      const where = `screens.${screen}.${os}`;
      if (!roles.title) throw bad(`${where}.regions`, 'needs a title region');
      const named: Partial<Record<RegionRole, string[]>> = {};
      for (const [role, names] of Object.entries(roles) as [RegionRole, string | string[]][]) {
        named[role] = typeof names === 'string' ? [names] : names;
        named[role]!.forEach((n) => knownRegion(`${where}.regions.${role}`, n));
      }
      if (qr !== 'absent' && !named.qr) throw bad(`${where}.regions`, 'a screen with a QR code needs a qr region');
      const langNames = Object.keys(langs);
      if (langNames.length === 0) throw new Error(`${source}: invalid screen catalog: screens.${screen}.${os}: no language (e.g. en-US)`);
      for (const lang of langNames) {
        if (!/^[a-z]{2}-[A-Z]{2}$/.test(lang)) throw new Error(`${source}: invalid screen catalog: screens.${screen}.${os}.${lang}: not a language tag like en-US`);
        const texts = langs[lang] as ScreenTexts;
        // Every text and field must be in a region this OS entry names.
        const roleOf = (path: string, role: RegionRole) => {
          if (!named[role]) throw bad(`${where}.${lang}.${path}.in`, `no ${role} region in ${where}.regions`);
        };
        for (const kind of ['anchors', 'oneOf', 'not'] as const) texts[kind].forEach((a, i) => roleOf(`${kind}.${i}`, a.in));
        for (const [name, spec] of Object.entries(texts.fields)) if (spec) roleOf(`fields.${name}`, spec.in);
        variants.push({ screen, os, lang, look, qr, regions: named as ScreenVariant['regions'], texts });
      }
    }
  }
  return { regions, looks, variants };
}

const cache = new Map<string, Catalog>();

/** Loads the catalog file (flows/screens.yaml unless told otherwise), once per path. */
export function loadCatalog(path = CATALOG_PATH): Catalog {
  let catalog = cache.get(path);
  if (!catalog) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`screen catalog ${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    catalog = parseCatalog(text, path);
    cache.set(path, catalog);
  }
  return catalog;
}
