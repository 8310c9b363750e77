/** The evidence file: what a monitor writes when a log misbehaves, for people and other tools to check. */
import { z } from 'zod';
import { errorMessage } from './checks.js';
import type { LogMisbehaviourError, MisbehaviourKind } from './errors.js';
import { MISBEHAVIOUR_KINDS, VerificationError } from './errors.js';

/** Format tag of evidence files, so other tools can recognise them. */
export const EVIDENCE_TYPE = 'tlog-misbehaviour-evidence/v1';

/** What an evidence file records beside the error's own evidence. */
export interface EvidenceFileOptions {
  /** The log verifier key the client pinned. */
  readonly verifierKey?: string;
  /** The signed note trusted when the misbehaviour was seen, recorded if the evidence names none. */
  readonly trusted?: string;
}

/** An evidence file, parsed (see {@link formatEvidence} for the meaning of each field). */
export interface EvidenceRecord {
  readonly type: typeof EVIDENCE_TYPE;
  readonly kind: MisbehaviourKind;
  readonly message: string;
  readonly detectedAt: string;
  readonly origin: string;
  readonly url: string | null;
  readonly verifierKey: string | null;
  readonly trusted: string | null;
  readonly candidate: string | null;
  readonly proof: readonly string[];
  readonly details: Readonly<Record<string, string | number>>;
}

const evidenceSchema = z.object({
  type: z.literal(EVIDENCE_TYPE),
  kind: z.enum(MISBEHAVIOUR_KINDS),
  message: z.string(),
  detectedAt: z.string(),
  origin: z.string(),
  url: z.string().nullable(),
  verifierKey: z.string().nullable(),
  trusted: z.string().nullable(),
  candidate: z.string().nullable(),
  proof: z.array(z.string()),
  details: z.record(z.string(), z.union([z.string(), z.number()])),
});

/**
 * The evidence file format (JSON, one object): {type: "tlog-misbehaviour-evidence/v1", kind,
 * message, detectedAt (ISO 8601), origin, url, verifierKey, trusted (signed note or null),
 * candidate (signed note or raw text or null), proof (base64 hashes), details}. `trusted` is
 * the evidence's own trusted note, else options.trusted.
 */
export function formatEvidence(err: LogMisbehaviourError, options: EvidenceFileOptions & { readonly detectedAt: Date }): string {
  const { detectedAt, verifierKey, trusted } = options;
  const ev = err.evidence;
  const record: EvidenceRecord = {
    type: EVIDENCE_TYPE,
    kind: err.kind,
    message: err.message,
    detectedAt: detectedAt.toISOString(),
    origin: ev.origin,
    url: ev.url ?? null,
    verifierKey: verifierKey ?? null,
    trusted: ev.trusted ?? trusted ?? null,
    candidate: ev.candidate ?? null,
    proof: ev.proof ?? [],
    details: ev.details ?? {},
  };
  return JSON.stringify(record, null, 2) + '\n';
}

/** Parses an evidence file (its JSON text, or the value JSON.parse made of it); VerificationError if it is not one. */
export function parseEvidence(evidence: unknown): EvidenceRecord {
  let value: unknown = evidence;
  if (typeof evidence === 'string') {
    try {
      value = JSON.parse(evidence);
    } catch (e) {
      throw new VerificationError(`the evidence is not JSON: ${errorMessage(e)}`, { cause: e });
    }
  }
  const r = evidenceSchema.safeParse(value);
  if (!r.success) {
    throw new VerificationError(
      `the evidence is not a ${EVIDENCE_TYPE} file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}
