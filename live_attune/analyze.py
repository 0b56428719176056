"""Old import path, kept only while files outside this change still use it (tests/core,
bench/bench_accuracy_hard.py): offline analysis is live_attune/session/offline.py and its
result live_attune/session/result.SessionResult. Import from there."""

from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file, attribute_by_voice
from live_attune.session.result import SessionResult

AnalysisResult = SessionResult  # the old name of the same record

__all__ = ["AnalysisResult", "SessionResult", "SingleMicOptions", "analyze_file",
           "attribute_by_voice"]
