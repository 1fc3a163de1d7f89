import { InvalidArgumentError } from 'commander';
import { GATE_STATUSES, isDigest } from '@lockgate/core';
import type { GateResult, GateStatus } from '@lockgate/core';

/** Commander parsers for option and argument values; a bad value is a usage error (exit 2). */

function splitPair(value: string, shape: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError(`Expected ${shape}.`);
  }
  return [value.slice(0, at), value.slice(at + 1)];
}

/** `NAME=STATUS` with STATUS one of PASS, FAIL, ERROR, SKIP (any case); repeatable. */
export function collectGate(value: string, previous: GateResult[] | undefined): GateResult[] {
  const [name, rawStatus] = splitPair(value, 'NAME=STATUS');
  const status = rawStatus.toUpperCase();
  if (!(GATE_STATUSES as readonly string[]).includes(status)) {
    throw new InvalidArgumentError(
      `Gate status must be one of ${GATE_STATUSES.join(', ')}, not '${rawStatus}'.`,
    );
  }
  if (previous?.some((gate) => gate.name === name) === true) {
    throw new InvalidArgumentError(`Gate '${name}' is given twice.`);
  }
  return [...(previous ?? []), { name, status: status as GateStatus }];
}

/** `KEY=VALUE`, repeatable, each key once. */
export function collectPair(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const [key, entry] = splitPair(value, 'KEY=VALUE');
  if (previous !== undefined && Object.hasOwn(previous, key)) {
    throw new InvalidArgumentError(`'${key}' is given twice.`);
  }
  return { ...previous, [key]: entry };
}

/** Any repeatable string option. */
export function collectString(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function integerIn(value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
  }
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
  }
  return number;
}

export function parseSequence(value: string): number {
  return integerIn(value, 0, Number.MAX_SAFE_INTEGER);
}

export function parsePort(value: string): number {
  return integerIn(value, 0, 65535);
}

export function parseLimit(value: string): number {
  return integerIn(value, 1, 1000);
}

export function parseDigestValue(value: string): string {
  if (!isDigest(value)) {
    throw new InvalidArgumentError('Expected a digest sha256:<64 lowercase hex>.');
  }
  return value;
}

/** A pack reference: a digest or NAME@VERSION. */
export function parsePackRef(value: string): string {
  if (isDigest(value)) {
    return value;
  }
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError('Expected a digest sha256:<hex> or NAME@VERSION.');
  }
  return value;
}

export function parseBuildStatus(value: string): 'passed' | 'failed' {
  if (value !== 'passed' && value !== 'failed') {
    throw new InvalidArgumentError("Expected 'passed' or 'failed'.");
  }
  return value;
}

/** A file base name for generated keys: letters, digits, '.', '_' and '-', not starting with '.'. */
export function parseKeyName(value: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new InvalidArgumentError(
      "Expected letters, digits, '.', '_' or '-' (not starting with '.'), at most 128.",
    );
  }
  return value;
}

export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  }
  return value;
}
