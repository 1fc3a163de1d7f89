/**
 * in-toto Statement v1 (github.com/in-toto/attestation, spec/v1/statement.md) for decision
 * records. The statement bytes are the JCS (RFC 8785) bytes of the statement, so the same
 * record always gives the same bytes, the same DSSE payload and the same log leaf.
 */
import { canonicalBytes } from '../canonical-json.ts';
import { isDigest } from '../digest.ts';
import { LockgateError } from '../errors.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const DECISION_PREDICATE_TYPE = 'https://lockgate.dev/decision/v1';

export interface StatementSubject {
  readonly name: string;
  readonly digest: { readonly sha256: string };
}

export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly StatementSubject[];
  readonly predicateType: string;
  readonly predicate: Record<string, unknown>;
}

/** What a decision record names, for its statement's subjects. */
export interface DecisionSubjects {
  /** pack digests the decision is about (`sha256:…`) */
  readonly packs?: readonly string[];
  /** channel index digests it produced or read (`sha256:…`) */
  readonly channelIndexes?: readonly string[];
}

/**
 * The statement of one decision record: the record as predicate; subjects are the packs and
 * channel indexes it names, or the record itself (`decision-record:<seq>`, its digest) when it
 * names neither.
 */
export function decisionStatement(
  record: { readonly seq: number; readonly digest: string } & Record<string, unknown>,
  subjects: DecisionSubjects = {},
): Statement {
  const list: StatementSubject[] = [];
  for (const digest of new Set(subjects.packs ?? []))
    list.push(subjectOf(`pack:${digest}`, digest));
  for (const digest of new Set(subjects.channelIndexes ?? [])) {
    list.push(subjectOf(`channel-index:${digest}`, digest));
  }
  if (list.length === 0) list.push(subjectOf(`decision-record:${record.seq}`, record.digest));
  return {
    _type: STATEMENT_TYPE,
    subject: list,
    predicateType: DECISION_PREDICATE_TYPE,
    predicate: { ...record },
  };
}

export function statementBytes(statement: Statement): Uint8Array {
  return canonicalBytes(statement);
}

/** Parses statement bytes; ENVELOPE_INVALID when they are not an in-toto Statement v1. */
export function parseStatement(bytes: Uint8Array): Statement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new LockgateError('ENVELOPE_INVALID', 'The statement is not JSON.', { cause });
  }
  const s = value as Partial<Statement> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    s._type !== STATEMENT_TYPE ||
    typeof s.predicateType !== 'string' ||
    !Array.isArray(s.subject) ||
    s.subject.length === 0 ||
    typeof s.predicate !== 'object' ||
    s.predicate === null
  ) {
    throw new LockgateError('ENVELOPE_INVALID', 'The payload is not an in-toto Statement v1.');
  }
  return s as Statement;
}

function subjectOf(name: string, digest: string): StatementSubject {
  if (!isDigest(digest)) {
    throw new LockgateError('DIGEST_INVALID', 'A statement subject digest is sha256:<hex>.', {
      details: { name },
    });
  }
  return { name, digest: { sha256: digest.slice('sha256:'.length) } };
}
