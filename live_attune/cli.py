"""The ``live-attune`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from live_attune import __version__
from live_attune.errors import LiveAttuneError, UsageError
from live_attune.paths import PRIVATE_UMASK

EXIT_CODES = """exit codes:
  0  success
  2  usage error (bad option; a --channels map that does not fit the audio)
  3  the input cannot be read (audio: missing, empty, not audio, corrupt, under 32 ms;
     a CSV that is not UTF-8, has no speaker and text columns, has ragged rows, names a
     column twice or leaves a quote open; a session.json that departs from its schema or
     holds what no session can)
  4  audio device problem
  5  model missing
  6  output cannot be written
  7  session store problem (unwritable; damaged; no such session)
  141 the reader of the output went away (e.g. `| head`)
"""


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)  # clinical files: ours 0600, folders 0700 (live_attune/paths.py)
    _one_blas_thread()
    _forget_old_telemetry()
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code = int(args.run(args))
        if sys.stdout is not None:  # None: started with stdout closed
            sys.stdout.flush()  # here, so that a reader gone away is caught below
        return code
    except LiveAttuneError as exc:
        print(f"live-attune: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("live-attune: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _one_blas_thread() -> None:
    """Before numpy loads: one OpenBLAS thread. The pipeline's matrices are small, and
    OpenBLAS's extra threads spin for them — measured, they cost more CPU than they save
    (``bench/bench_live.py --blas-compare``). A user's own setting wins."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _forget_old_telemetry() -> None:
    """Runs before this version switched onnxruntime's telemetry off left a device id and
    queued events in the home directory (live_attune/_runtime.py): remove that folder."""
    from live_attune._runtime import remove_old_onnxruntime_telemetry

    if (removed := remove_old_onnxruntime_telemetry()) is not None:
        print(f"live-attune: removed {removed} (a device id and queued telemetry events "
              "onnxruntime left before live-attune switched its telemetry off)", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose usage errors are one line, as every error of live-attune is
    (its subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"live-attune: error: {message} (see {self.prog} --help)\n")


if TYPE_CHECKING:  # argparse's class is generic to type checkers only
    Commands = argparse._SubParsersAction[_Parser]  # the subcommands' parsers


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="live-attune",
        description="Local turn-taking feedback for psychotherapy sessions. Nothing leaves "
                    "this machine.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"live-attune {__version__}")
    sub = p.add_subparsers(title="commands")
    _add_analyze(sub)
    _add_live(sub)
    _add_demo(sub)
    _add_devices(sub)
    _add_synth(sub)
    _add_label(sub)
    _add_calibrate(sub)
    _add_sessions(sub)
    _add_report(sub)
    _add_trends(sub)
    return p


def _add_analyze(sub: Commands) -> None:
    a = sub.add_parser(
        "analyze", help="analyse a recorded session file",
        description="Analyse a recorded session: who spoke when, turns, pauses, response "
                    "latency, interruptions, backchannels, long silences (shared/METRICS.md). "
                    "Stores the session in the local session store (for reports and trends), "
                    "with --out also writes OUT/session.json (schema: "
                    "live_attune/schema/session.schema.json) and OUT/turns.csv, and prints a "
                    "summary.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("audio", type=Path,
                   help="audio file: WAV, FLAC, OGG/Opus, MP3 ... any rate; one channel per "
                        "person, or mono")
    a.add_argument("--out", type=out_path, help="also write session.json and turns.csv into this "
                   "directory (created if missing)")
    a.add_argument("--channels", metavar="ROLES",
                   help="role of each channel in order, comma separated: therapist, client, "
                        "client_2 ... or ignore. Default for stereo: therapist,client. Mono "
                        "without it: speakers are told apart by voice (see below)")
    a.add_argument("--no-transcribe", action="store_true",
                   help="skip the local Whisper transcript (faster; no language measures)")
    a.add_argument("--model", type=Path, help="CTranslate2 Whisper model directory for the "
                   "transcript (default: the bundled tiny.en)")
    a.add_argument("--profile", type=Path,
                   help="microphone profile (TOML) for the channel roles and crosstalk "
                        "margin; --channels overrides its roles")
    _add_store_options(a)
    m = a.add_argument_group("one microphone (mono files)")
    m.add_argument("--speakers", type=int, choices=range(1, 9), metavar="N",
                   help="number of people (default: estimated, 2 or 3)")
    m.add_argument("--voice", type=Path, help="the therapist's voice print (calibrate "
                   "--enrol; default: the profile's)")
    m.add_argument("--swap-roles", action="store_true",
                   help="the speaker taken as the therapist is the client: swap them")
    m.add_argument("--activity-only", action="store_true",
                   help="do not tell voices apart: speech activity only")
    a.add_argument("--date", type=session_date, metavar="WHEN",
                   help="when the session took place: YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: "
                        "the file's recording date where its metadata holds one, else now)")
    a.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    a.set_defaults(run=_lazy("live_attune.commands", "analyze_command"))


def _add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=port_number, default=8765,
                   help="dashboard port (0: any free port)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open the dashboard (open the printed URL: it carries the key)")
    p.add_argument("--lan", action="store_true",
                   help="serve to this local network too (a tablet, a second screen): open "
                        "the printed URL or scan its QR code (it carries the key every run "
                        "needs); over the network only the measures are sent, never the "
                        "transcript (plain HTTP)")
    p.add_argument("--out", type=out_path,
                   help="also save session.json and turns.csv in this directory")
    p.add_argument("--keep-audio", action="store_true",
                   help="keep the session's audio (a WAV beside the store); off by default")
    _add_store_options(p)
    p.add_argument("--no-transcribe", action="store_true",
                   help="no live transcript (and so no question/reflection measures)")
    p.add_argument("--model", type=Path, help="CTranslate2 Whisper model directory "
                   "(default: the bundled tiny.en)")


def _add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-prosody", action="store_true",
                   help="skip pitch, loudness and speech-rate measures per turn")
    p.add_argument("--client", metavar="LABEL", type=client_label,
                   help="the client's code or pseudonym, to follow trends across sessions "
                        "(never a real name: it is stored as written)")
    p.add_argument("--no-transcript", action="store_true",
                   help="keep no transcript text in the store or in any saved file (the "
                        "measures are kept)")
    p.add_argument("--no-store", action="store_true",
                   help="do not keep this session in the local session store")


def _add_live(sub: Commands) -> None:
    v = sub.add_parser(
        "live", help="run a live session from the microphone(s) with the dashboard",
        description="Capture → pipeline → dashboard. Prints the dashboard URL and opens it; "
                    "Ctrl-C ends the session and saves it.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("--device", help="input device index or name (default: the system input)")
    v.add_argument("--input-channels", type=int, default=2,
                   help="channels to capture (default 2: one microphone per person)")
    v.add_argument("--channels", metavar="ROLES",
                   help="role of each captured channel (default therapist,client; one "
                        "channel without it is analysed as speech activity only)")
    v.add_argument("--profile", type=Path,
                   help="microphone profile (TOML: device, channel roles, crosstalk margin); "
                        "--device and --channels override it")
    v.add_argument("--voice", type=Path, help="one microphone: the therapist's voice print "
                   "(calibrate --enrol; default: the profile's)")
    v.add_argument("--activity-only", action="store_true",
                   help="one microphone: do not tell voices apart (speech activity only)")
    v.add_argument("--call", action="store_true",
                   help="a video call: --device is your microphone (you), the call's audio "
                        "output is the client (default: the output's monitor, "
                        "'Monitor of …' on Linux)")
    v.add_argument("--call-device", metavar="NAME|NUMBER",
                   help="with --call: the input that carries the call's audio (part of its "
                        "name, any case, or its number; BlackHole on macOS, a WASAPI "
                        "loopback on Windows)")
    _add_server_options(v)
    v.set_defaults(run=_lazy("live_attune.commands", "live_command"))


def _add_demo(sub: Commands) -> None:
    d = sub.add_parser("demo", help="replay the bundled demo session through the live pipeline",
                       description="Replay the bundled two-voice demo session (3.5 min) in "
                                   "real time through the live pipeline and the dashboard.")
    d.add_argument("--speed", type=float, default=1.0,
                   help="replay speed (1 = real time; 0 = as fast as possible)")
    d.add_argument("--exit-at-end", action="store_true",
                   help="stop when the replay ends (default: keep the dashboard up)")
    _add_server_options(d)
    d.set_defaults(run=_run_demo)


def _add_devices(sub: Commands) -> None:
    d = sub.add_parser("devices", help="list the audio inputs (for live --device)",
                       description="List the audio inputs this computer offers, with the "
                                   "number to give `live --device` and their channels. With "
                                   "none it says so and exits 4 (audio device problem).",
                       epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.set_defaults(run=_run_devices)


def _run_devices(args: argparse.Namespace) -> int:
    from live_attune.audio.capture import DEMO_HINT, NO_INPUT_CHECK, input_devices
    from live_attune.errors import DeviceError

    found = input_devices()
    if not found:
        raise DeviceError(f"no audio input found: {NO_INPUT_CHECK}; {DEMO_HINT}")
    print("audio inputs (the number goes to `live-attune live --device`):")
    for d in found:
        mark = "  (default)" if d.default else ""
        print(f"  {d.index}: {d.name}  {d.channels} channel{'s' if d.channels != 1 else ''}"
              f"{mark}")
    return 0


def _add_synth(sub: Commands) -> None:
    s = sub.add_parser("synth", help="generate a synthetic conversation with known timing",
                       description="Generate a two-voice conversation with espeak-ng: "
                                   "stereo.wav, mono.wav and truth.json (exact timing).")
    s.add_argument("--out", type=out_path, required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--turns", type=int, default=24, help="number of turns")
    s.add_argument("--bleed-db", type=float, default=-14.0, help="crosstalk level")
    s.add_argument("--snr-db", type=float, default=20.0, help="speech-to-noise ratio")
    s.set_defaults(run=_lazy("live_attune.commands", "synth_command"))


def _add_label(sub: Commands) -> None:
    lab = sub.add_parser(
        "label-utterances", help="label therapist utterances: questions, reflections ...",
        description="Read rows speaker,text (and optionally id) from IN.csv, in order, and "
                    "write them to OUT.csv with a behaviour column (open_question, "
                    "closed_question, reflection, other; empty for non-therapist rows) and a "
                    "reflection column (simple/complex) — the classifier the pipeline uses.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("input", type=Path, metavar="IN.csv")
    lab.add_argument("output", type=out_path, metavar="OUT.csv")
    lab.set_defaults(run=_lazy("live_attune.commands", "label_command"))


def _add_calibrate(sub: Commands) -> None:
    c = sub.add_parser(
        "calibrate", help="check the microphones and make a profile",
        description="Record a short protocol — the room's silence, the therapist speaking, "
                    "the client speaking (and, with --enrol, the therapist alone for 25 s) — "
                    "with live level meters; report noise floor, speech SNR, clipping, "
                    "which channel is whose and the crosstalk between them, with a plain "
                    "verdict; save a profile for `live --profile` and `analyze --profile`.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--device", help="input device index or name (default: the system input)")
    c.add_argument("--input-channels", type=int, default=2, help="channels (default 2)")
    c.add_argument("--from-file", type=Path, metavar="AUDIO",
                   help="calibrate from a recording instead (the protocol, or any "
                        "conversation in which the therapist speaks first)")
    c.add_argument("--out", type=out_path, help="profile to write (default: "
                   "~/.local/share/live-attune/profiles/default.toml)")
    c.add_argument("--call", action="store_true",
                   help="a video call: check your microphone (--device) and the call's "
                        "audio (--call-device; default the output's monitor), and the echo "
                        "of the call in your microphone")
    c.add_argument("--call-device", metavar="NAME|NUMBER",
                   help="with --call: the input carrying the call's audio")
    c.add_argument("--enrol", action="store_true",
                   help="also enrol the therapist's voice (for single-microphone sessions)")
    c.add_argument("--step-seconds", type=float, default=8.0, help="length of each step")
    c.add_argument("--no-prompt", action="store_true",
                   help="run the steps one after another without waiting for Enter")
    c.add_argument("--dashboard", action="store_true",
                   help="also show the meters and results in the browser")
    c.add_argument("--port", type=port_number, default=8765,
                   help="dashboard port (0: any free port)")
    c.add_argument("--no-browser", action="store_true", help="do not open the browser")
    c.set_defaults(run=_run_calibrate)


def _run_calibrate(args: argparse.Namespace) -> int:
    if not 2.0 <= args.step_seconds <= 120.0:
        raise UsageError("--step-seconds must be between 2 and 120")
    if args.input_channels < 1:
        raise UsageError("--input-channels must be at least 1")
    return _lazy("live_attune.commands_calibrate", "calibrate_command")(args)


def _add_sessions(sub: Commands) -> None:
    s = sub.add_parser(
        "sessions", help="list, show, export, delete or recover stored sessions",
        description="The local session store (SQLite in the data directory: "
                    "$LIVE_ATTUNE_HOME or ~/.local/share/live-attune).",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = s.add_subparsers(title="actions", dest="action", required=True)
    ls = actions.add_parser("list", help="every stored session, oldest first")
    ls.add_argument("--client", metavar="LABEL", type=client_label,
                    help="only this client's sessions")
    for name, text in (("show", "the session's main measures"),
                       ("recover", "rebuild a session a crash interrupted (or: all)"),
                       ("swap-roles", "therapist and client the other way round (one "
                                      "microphone's guess, or microphones worn the other "
                                      "way round); every measure is recomputed")):
        actions.add_parser(name, help=text).add_argument("session", help="id, prefix or last")
    ex = actions.add_parser("export", help="write the session's session.json")
    ex.add_argument("session", help="id, prefix or last")
    ex.add_argument("--out", type=out_path, help="file to write (default: ID.json here)")
    sv = actions.add_parser("serve", help="open the dashboard's report view of past sessions")
    sv.add_argument("--port", type=port_number, default=8765, help="port (0: any free port)")
    sv.add_argument("--no-browser", action="store_true", help="do not open a browser")
    de = actions.add_parser("delete", help="remove every trace of a session")
    de.add_argument("session", help="id, prefix or last")
    de.add_argument("--yes", action="store_true", help="do not ask")
    s.set_defaults(run=_lazy("live_attune.commands_store", "sessions_command"))


def _add_report(sub: Commands) -> None:
    r = sub.add_parser(
        "report", help="the post-session report (HTML, PDF, JSON, CSV)",
        description="A self-contained report of one session: summary against the context "
                    "numbers, who spoke when, talk share over time, gaps and pauses, each "
                    "interruption in context, the longest turns, questions and reflections, "
                    "quality gates.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("session", help="stored session id, prefix or last; or a session.json file")
    r.add_argument("--format", default="html,pdf",
                   help="comma separated: html, pdf, json, csv (default html,pdf)")
    r.add_argument("--out", type=out_path, help="directory (default: the data directory's reports)")
    r.add_argument("--date", type=session_date, metavar="WHEN",
                   help="the session's date in the report: YYYY-MM-DD or YYYY-MM-DDTHH:MM "
                        "(a session.json from analyze --out has none of its own)")
    r.set_defaults(run=_lazy("live_attune.commands_store", "report_command"))


def _add_trends(sub: Commands) -> None:
    t = sub.add_parser("trends", help="the measures across sessions",
                       description="A table of the main measures across stored sessions; "
                                   "with --out also an HTML page of charts.",
                       epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--client", metavar="LABEL", type=client_label,
                   help="only this client's sessions")
    t.add_argument("--out", type=out_path, help="directory for trends-LABEL.html")
    t.set_defaults(run=_lazy("live_attune.commands_store", "trends_command"))


def out_path(text: str) -> Path:
    """--out: a path; an empty one (a script's unset variable) is not the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a path, not an empty string")
    return Path(text)


# Unicode's bidirectional controls: they reorder what a terminal shows after them. Other
# format characters (the joiners of Persian words and emoji) are text.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def client_label(text: str) -> str:
    """--client: printable text (a newline or a terminal's escape codes in a label would
    rewrite what `sessions list` and `show` print)."""
    import unicodedata

    if not text.strip() or any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS
                               for c in text):
        raise argparse.ArgumentTypeError("a client label is printable text: letters, digits, "
                                         "spaces and punctuation, no control characters")
    return text


def port_number(text: str) -> int:
    """--port: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 to 65535 (0: any free)")
    return port


def session_date(text: str) -> str:
    """--date: a local date, with a time or without, as the store keeps it (ISO 8601)."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when.date().isoformat() if len(text.strip()) == 10 else \
        when.isoformat(timespec="seconds")


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """Run ``module.name(args)``, importing the module only when its command runs (so
    ``--help`` and a usage error stay fast, and numpy loads after _one_blas_thread)."""
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), name)(args))

    return run


def _run_demo(args: argparse.Namespace) -> int:
    if args.speed < 0:
        raise UsageError("--speed must be 0 (as fast as possible) or positive")
    return _lazy("live_attune.commands", "demo_command")(args)


if __name__ == "__main__":
    sys.exit(main())
