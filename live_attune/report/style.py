"""The report's inline stylesheet: calm, legible, prints on A4 with page numbers.

The people's colours are the dashboard's (dashboard/style.css ``--therapist``, ``--client``
...; charts.COLOURS; a test holds the three equal). Print: only small things (a row, a chart,
a list item) are kept whole, so a long section flows on instead of leaving half a page empty.
"""

from live_attune.report.charts import COLOURS

_WHO = "\n".join(f".who-{role} {{ color: {hex_} }}" for role, hex_ in COLOURS.items())

CSS = """
:root { color-scheme: light; --ink: #222; --muted: #666; --line: #ddd; --flag: #a33; }
body { font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 8px; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta, .legend, footer, .ctx, .quality.ok { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
table.card td { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.key th:first-child, table.miti th:first-child { width: 34%; }
td.outside { color: var(--flag); font-weight: bold; }
.flag { color: var(--flag); }
a.evidence { color: inherit; text-decoration: underline dotted; }
.notice ol { padding-left: 22px; margin: 6px 0; }
.notice li { margin: 0 0 6px; }
.notice li.outside::marker { color: var(--flag); font-weight: bold; }
.notice a.evidence { color: var(--muted); font-size: 12px; white-space: nowrap; }
.quality.flagged { border-left: 4px solid var(--flag); padding-left: 12px; }
.quality.flagged li { color: var(--flag); }
.notes { color: var(--muted); font-size: 12px; }
tr.unreliable td { color: var(--muted); }
span.unsure { color: var(--flag); font-style: italic; }
tr.unreliable td.ctx, p.unreliable { color: var(--flag); font-style: italic; }
table.events td:first-child { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.events td { font-size: 13px; }
table.events td:nth-child(2) { width: 22%; }
:target { background: #fff6d6; }
.wide { overflow-x: auto; }
table.trends { font-size: 12px; }
table.trends th, table.trends td { padding: 3px 4px; }
table.trends th { font-weight: normal; color: var(--muted); vertical-align: bottom;
                  min-width: 3.2em; }
table.trends td { font-variant-numeric: tabular-nums; }
.glossary dt { font-weight: bold; margin-top: 6px; }
.glossary dd { margin: 0 0 0 16px; font-size: 13px; }
svg { width: 100%; height: auto; display: block; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
@media (max-width: 640px) {  /* a phone: the full report opened from past sessions */
  main { padding: 12px; }
  th, td { padding: 4px 4px; }
  table.card td { white-space: normal; }
  table.key th:first-child, table.miti th:first-child { width: auto; }
  table.events td:nth-child(2) { width: auto; }
  .notice a.evidence { white-space: normal; }
}
@page { size: A4; margin: 14mm 14mm 16mm;
  @bottom-right { content: "page " counter(page) " of " counter(pages);
                  font: 9px "DejaVu Sans", sans-serif; color: #666; } }
@media print {
  body { font-size: 12px; }
  main { padding: 0; max-width: none; }
  h2 { margin-top: 16px; }
  tr, svg, li, dd, .notice, .keep { break-inside: avoid; }
  .glossary dl { column-count: 2; column-gap: 8mm; font-size: 11px; }
  table.events td { font-size: 11px; padding: 3px 6px; }
  .glossary dt { break-after: avoid; }
  h2, h3 { break-after: avoid; }
  a.evidence { text-decoration: none; }
}
""" + _WHO + "\n"
