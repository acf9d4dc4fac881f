// A YAML file read with its positions, so that a zod issue can be told as "FILE:LINE: field: message".
// Shared by every YAML file the agent reads (flows, bench files). The virtual device's scenario loader does the
// same on its own (the agent does not import sim/).
import { LineCounter, isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { UsageError } from './errors.ts';

export type YamlPath = (string | number)[];

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  /** The document as plain data. */
  data: unknown;
}

/** Parses YAML text; bad YAML is a UsageError naming the file and line. */
export function readYaml(file: string, text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const bad = doc.errors[0];
  if (bad) {
    const { line } = lines.linePos(bad.pos[0]);
    throw new UsageError(`${file}:${line}: not valid YAML: ${bad.message.split('\n')[0]}`);
  }
  return { file, doc, lines, data: doc.toJS() };
}

function lineAt(src: YamlSource, offset: number | undefined): number | undefined {
  return offset === undefined ? undefined : src.lines.linePos(offset).line;
}

/**
 * The line of `path` in the document: of its key when it is a key of a mapping, else of its value; when the
 * path does not exist (a missing field), the line of the deepest part of it that does.
 */
export function lineOf(src: YamlSource, path: YamlPath): number {
  let node: unknown = src.doc.contents;
  let line = lineAt(src, (node as { range?: number[] } | null)?.range?.[0]) ?? 1;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      line = lineAt(src, (pair.key as { range?: number[] } | null)?.range?.[0]) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
      node = node.items[key];
      line = lineAt(src, (node as { range?: number[] } | null)?.range?.[0]) ?? line;
    } else break;
  }
  return line;
}

/** A path as a person reads it: stations[1].wifi.keyEnv */
export function fieldName(path: YamlPath): string {
  return path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${k}` : k), '') || '(top level)';
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** One zod issue as "FILE:LINE: field: message". */
export function describeIssue(src: YamlSource, issue: z.core.$ZodIssue): string {
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const full = [...path, issue.keys[0]];
    return `${src.file}:${lineOf(src, full)}: ${fieldName(full)}: unknown key${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ''}`;
  }
  const value = valueAt(src.data, path);
  const message = issue.code === 'invalid_type' && value === undefined ? `missing (expected ${issue.expected})` : issue.message;
  return `${src.file}:${lineOf(src, path)}: ${fieldName(path)}: ${message}`;
}

/** Validates the document with `schema`; every problem in one UsageError, the first one first. */
export function parseWith<S extends z.ZodType>(src: YamlSource, schema: S): z.output<S> {
  const result = schema.safeParse(src.data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => describeIssue(src, i));
  throw new UsageError(problems.length === 1 ? problems[0] : `${problems[0]}\n${problems.slice(1).map((p) => `  also ${p}`).join('\n')}`);
}
