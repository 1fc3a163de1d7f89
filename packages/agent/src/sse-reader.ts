/** One Server-Sent Event (WHATWG HTML §9.2): its type (`message` when unnamed), data and id. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Reads Server-Sent Events from a byte stream: lines end with CRLF, LF or CR; `field: value`
 * lines fill the event, a blank line dispatches it, `:` lines are comments (heartbeats).
 * An event with no data line is not dispatched. Ends when the stream ends.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let hasData = false;
  let id: string | null = null;
  let first = true;
  const takeLine = (line: string): ServerSentEvent | null => {
    if (line === '') {
      const dispatched = hasData
        ? { event: event === '' ? 'message' : event, data: data.join('\n'), id }
        : null;
      event = '';
      data = [];
      hasData = false;
      return dispatched;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      data.push(value);
      hasData = true;
    } else if (field === 'id' && !value.includes('\0')) id = value;
    return null;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    if (first) {
      if (buffer.startsWith('\uFEFF')) buffer = buffer.slice(1);
      first = buffer === '';
    }
    for (;;) {
      const end = lineEnd(buffer);
      if (end === null) break;
      const line = buffer.slice(0, end.at);
      buffer = buffer.slice(end.at + end.length);
      const dispatched = takeLine(line);
      if (dispatched !== null) yield dispatched;
    }
  }
}

/** Where the first complete line ends; a CR at the very end may still be followed by LF. */
function lineEnd(text: string): { at: number; length: number } | null {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) return { at: i, length: 1 };
    if (c === 0x0d) {
      if (i + 1 === text.length) return null;
      return { at: i, length: text.charCodeAt(i + 1) === 0x0a ? 2 : 1 };
    }
  }
  return null;
}
