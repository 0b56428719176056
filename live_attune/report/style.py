"""The report's inline stylesheet: calm, legible, prints on A4 without cut tables."""

CSS = """
:root { color-scheme: light; --ink: #222; --muted: #666; --line: #ddd; --flag: #a33; }
body { font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta, .legend, footer, .ctx { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
table.card td { font-variant-numeric: tabular-nums; }
.quality.flagged { border-left: 4px solid var(--flag); padding-left: 12px; }
.quality.flagged li { color: var(--flag); }
.notes { color: var(--muted); font-size: 12px; }
tr.unreliable td { color: var(--muted); }
tr.unreliable td.ctx, p.unreliable { color: var(--flag); font-style: italic; }
svg { width: 100%; height: auto; display: block; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 14mm; }
@media print {
  main { padding: 0; max-width: none; }
  section, tr, svg { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""
