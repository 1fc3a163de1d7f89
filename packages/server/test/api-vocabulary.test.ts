import {
  BUILTIN_METRICS as API_BUILTIN_METRICS,
  COMMAND_KINDS as API_COMMAND_KINDS,
  ERROR_STATUS,
  GATE_OPERATORS as API_GATE_OPERATORS,
  GATE_STATUSES as API_GATE_STATUSES,
  RELEASE_STATES as API_RELEASE_STATES,
  SELECTOR_OPERATORS as API_SELECTOR_OPERATORS,
  WEEKDAYS as API_WEEKDAYS,
} from '@lockgate/api';
import type { ApiErrorCode } from '@lockgate/api';
import {
  BUILTIN_METRICS,
  COMMAND_KINDS,
  ERROR_CODES,
  GATE_OPERATORS,
  GATE_STATUSES,
  RELEASE_STATES,
  SELECTOR_OPERATORS,
  WEEKDAYS,
} from '@lockgate/core';
import type { ErrorCode } from '@lockgate/core';
import { describe, expect, expectTypeOf, it } from 'vitest';

/**
 * `@lockgate/api` depends on nothing of ours, so it repeats core's lists; these tests hold each
 * copy equal to core's, in the same order (enum order is part of the OpenAPI document).
 */
describe('the API vocabulary', () => {
  it('names the same values as core, in the same order', () => {
    expect([...API_WEEKDAYS]).toEqual([...WEEKDAYS]);
    expect([...API_GATE_STATUSES]).toEqual([...GATE_STATUSES]);
    expect([...API_SELECTOR_OPERATORS]).toEqual([...SELECTOR_OPERATORS]);
    expect([...API_GATE_OPERATORS]).toEqual([...GATE_OPERATORS]);
    expect([...API_RELEASE_STATES]).toEqual([...RELEASE_STATES]);
    expect([...API_COMMAND_KINDS]).toEqual([...COMMAND_KINDS]);
    expect([...API_BUILTIN_METRICS]).toEqual([...BUILTIN_METRICS]);
  });

  it('gives every error code of core an HTTP status, and no other code', () => {
    expectTypeOf<ApiErrorCode>().toEqualTypeOf<ErrorCode>();
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status >= 400 && status <= 599, code).toBe(true);
    }
  });
});
