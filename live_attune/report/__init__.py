"""Post-session reports (HTML, PDF, JSON, CSV) and trends across sessions."""

from live_attune.report.build import FORMATS, report_paths, write_report
from live_attune.report.html import build_html

__all__ = ["FORMATS", "build_html", "report_paths", "write_report"]
