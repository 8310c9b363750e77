/** How the event commands print events: a table row each, or the event line (--json). */
import type { VerifiedEvent } from '@tlog/client';

/** The table's columns: header, minimum width, and the cell of an event. */
export const COLUMNS: readonly { readonly header: string; readonly width: number; readonly cell: (e: VerifiedEvent) => string }[] = [
  { header: 'INDEX', width: 8, cell: (e) => String(e.index) },
  { header: 'RECEIVED_AT', width: 24, cell: (e) => e.record.received_at },
  { header: 'ACTION', width: 20, cell: (e) => e.record.action },
  { header: 'ACTOR', width: 24, cell: (e) => `${e.record.actor.type}:${e.record.actor.id}` },
  { header: 'TARGETS', width: 24, cell: (e) => e.record.targets.map((t) => `${t.type}:${t.id}`).join(',') || '-' },
  { header: 'OUTCOME', width: 0, cell: (e) => e.record.outcome },
];

/** One table row (streamed, so columns have fixed minimum widths; a longer cell pushes the rest right). */
export function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(COLUMNS[i]!.width)))
    .join(' ')
    .trimEnd();
}

/** An event as its event line: `{index, leafHash, record, salt}`, what `--json` prints. */
export function eventLineOf(ev: VerifiedEvent): string {
  const { index, receipt } = ev;
  return JSON.stringify({ index, leafHash: receipt.leafHash, record: ev.record, salt: receipt.salt });
}
