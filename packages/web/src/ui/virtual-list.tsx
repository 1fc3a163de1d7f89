import { useState } from 'react';
import type { ReactNode } from 'react';

/**
 * Renders only the rows in view (plus a margin) of a long list at a fixed row height, so a
 * table of 10,000 targets keeps a few dozen rows in the document.
 */
export function VirtualRows<T>(props: {
  rows: readonly T[];
  rowHeight: number;
  height: number;
  header: ReactNode;
  row: (item: T, index: number) => ReactNode;
  label: string;
}) {
  const [top, setTop] = useState(0);
  const { rows, rowHeight, height } = props;
  const first = Math.max(0, Math.floor(top / rowHeight) - 10);
  const last = Math.min(rows.length, Math.ceil((top + height) / rowHeight) + 10);
  return (
    <div
      className="virtual"
      style={{ height, overflowY: 'auto' }}
      onScroll={(event) => setTop(event.currentTarget.scrollTop)}
      tabIndex={0}
      role="region"
      aria-label={props.label}
    >
      <table aria-rowcount={rows.length + 1}>
        <thead>{props.header}</thead>
        <tbody>
          {first > 0 ? (
            <tr aria-hidden="true" style={{ height: first * rowHeight }}>
              <td />
            </tr>
          ) : null}
          {rows.slice(first, last).map((item, offset) => props.row(item, first + offset))}
          {last < rows.length ? (
            <tr aria-hidden="true" style={{ height: (rows.length - last) * rowHeight }}>
              <td />
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
