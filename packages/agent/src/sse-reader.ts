import { AgentError } from './agent-codes.ts';

/** One Server-Sent Event (WHATWG HTML §9.2): its type (`message` when unnamed), data and id. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

export interface ServerSentEventLimits {
  /** the most bytes one line, and the data of one event, may hold (default 64 KiB) */
  maxEventBytes?: number;
}

export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Reads Server-Sent Events from a byte stream: lines end with CRLF, LF or CR; `field: value`
 * lines fill the event, a blank line dispatches it, `:` lines are comments (heartbeats).
 * An event with no data line is not dispatched. Ends when the stream ends.
 *
 * Incremental: each byte is looked at once, and only the unfinished line is held (as the
 * chunks it arrived in). A line, or the data of one event, longer than `maxEventBytes` throws
 * AgentError EVENT_TOO_LARGE at once, which ends the iteration and cancels the stream.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limits: ServerSentEventLimits = {},
): AsyncGenerator<ServerSentEvent> {
  const maxBytes = limits.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  // the unfinished line: pieces of earlier chunks and their length
  let pieces: Uint8Array[] = [];
  let pending = 0;
  let afterCr = false;
  let firstLine = true;
  let event = '';
  let data: string[] = [];
  let dataBytes = 0;
  let hasData = false;
  let id: string | null = null;

  const tooLarge = (what: string, bytes: number): AgentError =>
    new AgentError(
      'EVENT_TOO_LARGE',
      `The event stream sent ${what} of more than ${maxBytes} bytes (${bytes} so far); the stream was closed.`,
      { details: { bytes, maxBytes } },
    );

  const takeLine = (bytes: Uint8Array): ServerSentEvent | null => {
    let raw = bytes;
    if (firstLine) {
      firstLine = false;
      if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
    }
    if (raw.length === 0) {
      const dispatched = hasData
        ? { event: event === '' ? 'message' : event, data: data.join('\n'), id }
        : null;
      event = '';
      data = [];
      dataBytes = 0;
      hasData = false;
      return dispatched;
    }
    if (raw[0] === 0x3a) return null;
    const line = decoder.decode(raw);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      dataBytes += raw.length;
      if (dataBytes > maxBytes) throw tooLarge('an event', dataBytes);
      data.push(value);
      hasData = true;
    } else if (field === 'id' && !value.includes('\0')) id = value;
    return null;
  };

  for await (const chunk of body) {
    let start = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i];
      if (afterCr) {
        afterCr = false;
        // CRLF is one line end: the LF after a CR ends nothing.
        if (c === LF) {
          start = i + 1;
          continue;
        }
      }
      if (c !== LF && c !== CR) continue;
      const length = pending + (i - start);
      if (length > maxBytes) throw tooLarge('a line', length);
      const line =
        pending === 0 ? chunk.subarray(start, i) : join(pieces, chunk.subarray(start, i));
      pieces = [];
      pending = 0;
      start = i + 1;
      afterCr = c === CR;
      const dispatched = takeLine(line);
      if (dispatched !== null) yield dispatched;
    }
    if (start < chunk.length) {
      pending += chunk.length - start;
      if (pending > maxBytes) throw tooLarge('a line', pending);
      // A copy: the stream may reuse the chunk's memory.
      pieces.push(chunk.slice(start));
    }
  }
}

function join(pieces: readonly Uint8Array[], last: Uint8Array): Uint8Array {
  let length = last.length;
  for (const piece of pieces) length += piece.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  bytes.set(last, at);
  return bytes;
}
