"""What each CLI command does (argument parsing stays in cli.py)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from live_attune.atomic import atomic_write, is_stream
from live_attune.audio.decode import probe
from live_attune.core import SessionMetrics
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.errors import UsageError
from live_attune.session.config import (
    MODE_ACTIVITY,
    Layout,
    PipelineConfig,
    SingleMicOptions,
    layout_for,
    single_mic_layout,
)
from live_attune.session.offline import analyze_file
from live_attune.session.output import write_outputs
from live_attune.session.result import SessionResult
from live_attune.session.single_mic import voice_print_of
from live_attune.speakers.channels import ChannelMap, CrosstalkConfig, crosstalk_for
from live_attune.speakers.voiceprint import load as load_voice_print
from live_attune.store.db import NewSession, session_record, unstored

if TYPE_CHECKING:
    from collections.abc import Callable

    from calibration.profile import Profile
    from live_attune.core.events import Transcript
    from live_attune.core.language import Labelled
    from live_attune.server.session import LiveSession
    from live_attune.session.live import BlockSource, InputCheck
    from live_attune.store import SessionRecorder

PROGRESS_MIN_S = 60.0  # files shorter than this get no progress bar


def _profile(args: argparse.Namespace) -> tuple[ChannelMap | None, PipelineConfig]:
    """Channel map and pipeline config from --profile, with --channels taking precedence."""
    from calibration.profile import load

    profile = load(args.profile) if args.profile else None
    cmap = ChannelMap.parse(args.channels) if args.channels is not None else (
        profile.channels if profile else None)
    crosstalk = (crosstalk_for(profile.crosstalk_margin_db, profile.bleed_db) if profile
                 else CrosstalkConfig())
    return cmap, PipelineConfig(crosstalk=crosstalk)


def analyze_command(args: argparse.Namespace) -> int:
    cmap, config = _profile(args)
    result = _analyze_with_progress(args.audio, cmap, config, quiet=args.quiet,
                                    prosody=not args.no_prosody,
                                    single_mic=_single_mic_options(args),
                                    transcribe=not args.no_transcribe, model=args.model)
    new = _new_analysis(result, args)
    record = session_record(new, "complete")
    # --out first, without an id (no store holds it yet: its report must not name one), so
    # a store that fails or is interrupted cannot lose it; then, once stored, with the id
    written = (write_outputs(result, args.out, record=unstored(record),
                             keep_transcript=new.keep_transcript) if args.out else None)
    stored = None if args.no_store else _store_analysis(result, new, args)
    if stored and args.out:
        written = write_outputs(result, args.out, record=record,
                                keep_transcript=new.keep_transcript)
    if not args.quiet:
        print(summary_table(result))
        if written:
            print(f"\nwrote {written[0]} and {written[1]}")
        if stored:
            print(f"stored as session {stored} (live-attune report {stored})")
    return 0


def _single_mic_options(args: argparse.Namespace) -> SingleMicOptions | None:
    """Mono files are attributed by voice unless --activity-only."""
    from calibration.profile import load

    if args.activity_only:
        return None
    voice = args.voice
    if voice is None and args.profile:
        voice = load(args.profile).voice
    if args.voice is not None:  # a wrong path fails now, not after the file is decoded
        load_voice_print(args.voice)  # (a profile's is read where it is used)
    return SingleMicOptions(speakers=args.speakers, voice_print=voice,
                            swap_roles=args.swap_roles)


def _new_analysis(result: SessionResult, args: argparse.Namespace) -> NewSession:
    """The analysed session's record: dated --date, else the recording's date, else now."""
    from live_attune.session.output import config_dict

    when = args.date or recording_date(args.audio)
    return NewSession(kind="analyze", source=str(result.info.path), mode=result.layout.mode,
                      speakers=result.layout.speakers, config=config_dict(result.config),
                      label=args.client, keep_transcript=not args.no_transcript,
                      **({"started_at": when} if when else {}))


def _store_analysis(result: SessionResult, new: NewSession, args: argparse.Namespace
                    ) -> str | None:
    """Keep the result in the session store. A store problem warns: the --out files still
    stand, and without --out the result goes where a live session's would (``unsaved/ID``
    in the data directory, else a private temporary folder) — never lost."""
    from live_attune.errors import StoreError
    from live_attune.session.output import session_dict
    from live_attune.store import Store

    try:
        with Store() as store:
            store.add(new, session_dict(result), state="complete")
    except StoreError as exc:
        if args.out:
            print(f"live-attune: warning: {exc}; not stored", file=sys.stderr)
            return None
        from live_attune.session.output import save_elsewhere

        saved = save_elsewhere(result, unstored(session_record(new, "complete")),
                               keep_transcript=new.keep_transcript, name=new.id)
        if saved is None:
            raise StoreError(f"{exc}; nor could the result be saved elsewhere") from exc
        print(f"live-attune: warning: {exc}; saved {saved} instead (live-attune report "
              f"{saved})", file=sys.stderr)
        return None
    return new.id


# Where containers keep the recording's date: MP4/MOV and many recorders "creation_time"
# (UTC), ID3/Vorbis "date", broadcast WAV's bext "origination_date" (+ "_time").
DATE_TAGS = ("creation_time", "date", "origination_date")


def recording_date(path: Path) -> str | None:
    """The recording's local date and time from the file's metadata, if it holds one (so
    that a session analysed later is dated when it took place, not when analysed)."""
    from datetime import datetime

    import av

    try:
        with av.open(str(path)) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
    except (OSError, av.FFmpegError):
        return None
    for tag in DATE_TAGS:
        text = tags.get(tag, "").strip()
        if tag == "origination_date" and text and tags.get("origination_time"):
            text = f"{text}T{tags['origination_time'].strip().replace('-', ':')}"
        try:
            when = datetime.fromisoformat(text) if text else None
        except ValueError:
            continue
        if when is not None:
            if when.tzinfo is not None:
                when = when.astimezone().replace(tzinfo=None)
            return when.date().isoformat() if len(text) == 10 else \
                when.isoformat(timespec="seconds")  # a date alone stays a date
    return None


def live_command(args: argparse.Namespace) -> int:
    from calibration.profile import load
    from live_attune.audio.capture import CaptureConfig, ResilientMic

    if args.call:
        return _live_call(args)
    if args.call_device is not None:
        raise UsageError("--call-device goes with --call")
    if args.voice is not None:  # a wrong path fails at once, whatever the input turns out
        load_voice_print(args.voice)
    cmap, config = _profile(args)
    profile = load(args.profile) if args.profile else None
    device = args.device if args.device is not None else (profile.device if profile else None)
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    channels = len(cmap.roles) if cmap is not None else args.input_channels
    layout = layout_for(channels, cmap, "the input")
    single = None
    if layout.mode == MODE_ACTIVITY and not args.activity_only:  # one shared microphone
        layout = single_mic_layout()
        single = SingleMicOptions(voice_print=args.voice or (profile.voice if profile
                                                             else None))
        voice_print_of(single)  # a voice print that cannot be read fails before the session
    from live_attune.session.live import InputChecks

    checks: list[InputCheck] = []
    if profile is not None:
        from calibration.check import ProfileCheck
        from live_attune.audio.capture import device_name

        checks.append(ProfileCheck(profile, device_name(device)))
    if len(set(layout.channel_indices)) > 1:  # one microphone seen as two: two people
        from live_attune.audio.same import SameChannelsCheck  # overlapping throughout
        from live_attune.core.audio_facts import SAMPLE_RATE

        checks.append(SameChannelsCheck(SAMPLE_RATE, layout.channel_indices))
    check = InputChecks(*checks) if checks else None
    with ResilientMic(CaptureConfig(device=device, channels=channels)) as source:
        session = _serve(source, layout, args, linger=False, config=config, check=check,
                         single_mic=single)
    return _report(session)


def _live_call(args: argparse.Namespace) -> int:
    """A video call (issue 21): the microphone is the therapist, the call's audio output
    the client, two devices paired on the microphone's clock (audio/call.py)."""
    from calibration.profile import load
    from live_attune.audio.call import CallConfig, CallSource, find_call_input, find_input

    if args.channels or args.input_channels != 2:
        raise UsageError("--call takes one channel from each device: no --channels or "
                         "--input-channels")
    profile = load(args.profile) if args.profile else None
    mic = find_input(args.device if args.device is not None else
                     (profile.device if profile else None), "microphone")
    call = find_call_input(args.call_device if args.call_device is not None else
                           (profile.call_device if profile else None))
    layout = layout_for(2, ChannelMap(roles=(THERAPIST, CLIENT)), "the call")
    check = None
    if profile is not None:  # the profile against these two devices, as plain live does
        from calibration.check import ProfileCheck

        check = ProfileCheck(profile, mic.name, call_device_name=call.name)
    with CallSource(CallConfig(), mic, call) as source:
        print(f"Video call: you on {mic.name!r}, the client on {call.name!r}")
        session = _serve(source, layout, args, linger=False,
                         config=PipelineConfig(crosstalk=call_crosstalk(profile)), check=check)
    return _report(session)


def call_crosstalk(profile: Profile | None) -> CrosstalkConfig:
    """The crosstalk model for a call: from calibrate --call's echo (the client's voice in
    the therapist's microphone: row client, column therapist) and its delay, if measured."""
    if profile is None or profile.echo_db is None:
        crosstalk = CrosstalkConfig()
    else:
        crosstalk = crosstalk_for(profile.crosstalk_margin_db,
                                  [[0.0, -60.0], [profile.echo_db, 0.0]])
    if profile is not None and profile.echo_delay_ms is not None:
        crosstalk = replace(crosstalk, delay_ms=min(profile.echo_delay_ms,
                                                    crosstalk.max_delay_ms))
    return crosstalk


def demo_command(args: argparse.Namespace) -> int:
    from live_attune.audio.replay import FileReplaySource

    path = demo_path()
    speed = None if args.speed == 0 else args.speed
    source = FileReplaySource(path, speed=speed)
    layout = layout_for(source.channels, None, str(path))
    print(f"Replaying the bundled demo session at "
          f"{'full speed' if speed is None else f'{speed:g}x real time'}; Ctrl-C stops.")
    session = _serve(source, layout, args, linger=not args.exit_at_end)
    return _report(session)


def _serve(source: BlockSource, layout: Layout, args: argparse.Namespace, *, linger: bool,
           config: PipelineConfig | None = None, check: InputCheck | None = None,
           single_mic: SingleMicOptions | None = None) -> LiveSession:
    import asyncio

    from live_attune.server.app import ServeOptions, run_live
    from live_attune.store import default_store_path

    options = ServeOptions(port=args.port, lan=args.lan, open_browser=not args.no_browser,
                           linger=linger, store=default_store_path())
    recorder = None if args.no_store else _recorder(source, layout, args, config)
    asr = None
    if not args.no_transcribe:
        from live_attune.asr.worker import AsrWorker

        model = args.model

        def asr(on_result: Callable[[Transcript], None]) -> AsrWorker:
            return AsrWorker(on_result, model_path=model)

    return asyncio.run(run_live(source, layout, options,
                                out_dir=args.out, asr=asr, config=config, recorder=recorder,
                                prosody=not args.no_prosody, check=check,
                                single_mic=single_mic,
                                keep_transcript=not args.no_transcript))


def _recorder(source: BlockSource, layout: Layout, args: argparse.Namespace,
              config: PipelineConfig | None) -> SessionRecorder:
    """The store's journal for this session; offers to recover sessions a crash left."""
    from live_attune.errors import StoreError
    from live_attune.paths import data_dir
    from live_attune.session.output import config_dict
    from live_attune.store import SessionRecorder, Store, default_store_path

    try:
        with Store() as store:
            for row in [r for r in store.list() if r.state == "interrupted"]:
                print(f"Session {row.id} (started {row.started_at}) stopped unexpectedly; "
                      f"recover it with: live-attune sessions recover {row.id}")
    except StoreError as exc:
        print(f"live-attune: warning: {exc}", file=sys.stderr)
    new = NewSession(kind="live", source=source.description,
                     mode=layout.mode, speakers=layout.speakers,
                     config=config_dict(config or PipelineConfig()), label=args.client,
                     keep_transcript=not args.no_transcript)
    if args.keep_audio:
        new = replace(new, audio_path=str(data_dir() / "audio" / f"{new.id}.wav"))
    return SessionRecorder(default_store_path(), new, channels=len(layout.speakers))


def _report(session: LiveSession) -> int:
    metrics = session.pipeline.snapshot()
    print("\n" + live_line(metrics))
    if session.recorder is not None:
        if session.recorder.error:
            print(f"live-attune: warning: {session.recorder.error}", file=sys.stderr)
        else:
            print(f"stored as session {session.recorder.session_id} "
                  f"(live-attune report {session.recorder.session_id})")
    if session.saved_to is not None:
        elsewhere = (session.out_dir is None and session.recorder is not None
                     and session.recorder.error)
        print(f"saved {session.saved_to}" + (" (the store could not keep this session; "
                                             f"live-attune report {session.saved_to})"
                                             if elsewhere else ""))
    p95 = session.hub.send_latency.p95_ms()
    if p95 is not None:
        print(f"block arrival → dashboard message: p95 {p95:.0f} ms")
    source = session.source
    print(f"dropped audio blocks: {source.overflows} (pipeline behind), "
          f"{source.driver_overflows} (driver overflow)")
    asr = session.asr_status()
    if asr.get("enabled"):
        p95_s = asr["p95_s"]
        print(f"transcribed {asr['done']} utterances, {asr['dropped']} dropped; utterance end "
              f"→ text p95 {'n/a' if p95_s is None else f'{p95_s:.2f} s'}")
    if session.error:
        print(f"live-attune: error: {session.error}", file=sys.stderr)
        return 4
    return 0


def synth_command(args: argparse.Namespace) -> int:
    from live_attune.synth import MixConfig, ScenarioConfig, make_conversation
    from live_attune.synth.truth import write

    conv = make_conversation(args.seed, ScenarioConfig(turns=args.turns))
    paths = write(conv, args.out, MixConfig(bleed_db=args.bleed_db, snr_db=args.snr_db,
                                            seed=args.seed))
    print(f"wrote {', '.join(str(p) for p in paths.values())} ({conv.duration_s:.1f} s)")
    return 0


def label_command(args: argparse.Namespace) -> int:
    import csv
    import io

    from live_attune.csv_cells import safe_cell
    from live_attune.errors import OutputError
    from live_attune.language.labeller import DialogueLabeller

    rows, fields = _read_utterance_rows(args.input)
    labeller = DialogueLabeller()  # each row in order: the client's and therapist's before
    out = io.StringIO()
    kept = [f for f in fields if f not in LABEL_COLUMNS]  # labelled again: the new labels
    writer = csv.DictWriter(out, fieldnames=[*kept, *LABEL_COLUMNS])
    writer.writeheader()
    labelled = 0  # therapist lines with words: a client's and an empty line get no label
    for row in rows:
        text = row["text"] or ""
        label = labeller.feed(_role(row["speaker"]), text) if text.strip() else None
        labelled += label is not None
        cells = row | _label_cells(label)
        writer.writerow({k: safe_cell(v) for k, v in cells.items()})  # no formulas
    try:
        atomic_write(args.output, out.getvalue())
    except OSError as exc:
        raise OutputError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    print(f"labelled {labelled} therapist "
          f"utterances of {len(rows)} rows → {args.output}",
          file=sys.stderr if is_stream(args.output) else sys.stdout)  # not into the CSV
    return 0


# behaviour: the one main label. question (open / closed) and reflection (simple / complex):
# the two codes as AnnoMI codes them, each where its head says so — one utterance may carry
# both (a reflection said as a question). p_*: the heads' probabilities (open given a
# question, complex given a reflection), to take a code at another threshold.
def _role(speaker: str) -> str:
    """A speaker cell as a role: "Therapist" and " THERAPIST " are the therapist."""
    return speaker.strip().lower()


LABEL_COLUMNS = ("behaviour", "question", "reflection", "p_question", "p_open",
                 "p_reflection", "p_complex")


def _label_cells(label: Labelled | None) -> dict[str, str]:
    if label is None:  # a client's row
        return dict.fromkeys(LABEL_COLUMNS, "")
    question = ("open" if label.p_open > 0.5 else "closed") if label.p_question >= 0.5 else ""
    reflection = (("complex" if label.p_complex > 0.5 else "simple")
                  if label.p_reflection >= 0.5 else "")
    return {"behaviour": label.behaviour, "question": question, "reflection": reflection,
            "p_question": f"{label.p_question:.3f}", "p_open": f"{label.p_open:.3f}",
            "p_reflection": f"{label.p_reflection:.3f}", "p_complex": f"{label.p_complex:.3f}"}


def _read_utterance_rows(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a ``speaker,text[,id…]`` CSV, in order, and its header. A UTF-8 byte
    order mark (spreadsheets' "CSV UTF-8") is read past; a row with fewer or more fields
    than the header, a column named twice or a quote left open is an unreadable file."""
    import csv

    from live_attune.errors import AudioInputError

    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, strict=True)
            fields = reader.fieldnames
            if not fields or not {"speaker", "text"} <= set(fields):  # the file, not the call
                raise AudioInputError(f"{path}: needs a header with speaker and text columns")
            twice = sorted({name for name in fields if fields.count(name) > 1})
            if twice:
                raise AudioInputError(f"{path}: the header names {', '.join(twice)} twice")
            rows = []
            for row in reader:
                if None in row or None in row.values():  # DictReader's marks of both
                    raise AudioInputError(f"{path}: row {reader.line_num} has "
                                          f"{'more' if None in row else 'fewer'} fields "
                                          f"than the header ({len(fields)})")
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise AudioInputError(f"{path}: not UTF-8 text ({exc})") from exc
    except (OSError, csv.Error) as exc:
        raise AudioInputError(f"{path}: cannot read it as CSV ({exc})") from exc
    return rows, list(fields)


def demo_path() -> Path:
    return Path(str(resources.files("live_attune").joinpath("data/demo_session.opus")))


def _analyze_with_progress(path: Path, cmap: ChannelMap | None, config: PipelineConfig, *,
                           quiet: bool, prosody: bool = True,
                           single_mic: SingleMicOptions | None = None,
                           transcribe: bool = False, model: Path | None = None
                           ) -> SessionResult:
    info = probe(path)
    layout_for(info.channels, cmap, str(path))  # a map that does not fit fails before any bar
    total = info.duration_s or 0.0
    if quiet or total < PROGRESS_MIN_S:
        return analyze_file(path, channel_map=cmap, config=config, prosody=prosody,
                            single_mic=single_mic, transcribe=transcribe, model=model)
    from tqdm import tqdm

    with tqdm(total=total, unit="s", desc="analysing", file=sys.stderr,
              bar_format="{desc} {bar} {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]"
              ) as bar:
        def advance(done_s: float, _metrics: SessionMetrics) -> None:
            bar.update(min(done_s, total) - bar.n)

        return analyze_file(path, channel_map=cmap, config=config, progress=advance,
                            prosody=prosody, single_mic=single_mic, transcribe=transcribe,
                            model=model)


def live_line(m: SessionMetrics) -> str:
    """The few calm numbers the live view shows, as one line."""
    mins, secs = divmod(int(m.at_s), 60)
    share = " ".join(f"{s[0].upper()} {_pct(m.talk_share[s])}" for s in m.speakers)
    rolling = " ".join(_pct(m.rolling_talk_share[s]) for s in m.speakers)
    lat = m.response_latency.median_s
    inter = " ".join(f"{s[0].upper()}{m.interruptions_by[s]}" for s in m.speakers)
    return (f"{mins:02d}:{secs:02d}  floor {m.floor_holder or '-':9s}  talk {share} "
            f"(5 min {rolling})  latency {'-' if lat is None else f'{lat:.1f} s'}  "
            f"interruptions {inter}  ")


def summary_table(result: SessionResult) -> str:
    """A short plain-text table of the whole-session measures."""
    m = result.metrics
    rows = [("", *m.speakers)]
    rows.append(("talk time", *(f"{m.talk_time_s[s]:.1f} s" for s in m.speakers)))
    rows.append(("talk share", *(_pct(m.talk_share[s]) for s in m.speakers)))
    rows.append(("longest turn", *(f"{m.longest_monologue_s[s]:.1f} s" for s in m.speakers)))
    rows.append(("interruptions made", *(str(m.interruptions_by[s]) for s in m.speakers)))
    rows.append(("  successful", *(str(m.successful_interruptions_by[s]) for s in m.speakers)))
    rows.append(("  other went on",
                 *(str(m.unsuccessful_interruptions_by[s]) for s in m.speakers)))
    rows.append(("backchannels", *(str(m.backchannels_by[s]) for s in m.speakers)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lat = m.response_latency
    lines += [
        "",
        f"duration {result.duration_s:.1f} s · mode {result.layout.mode} · "
        f"{m.turns} turns · overlap {m.overlap_s:.1f} s · long silences {m.long_silences}",
        "response latency (therapist after client): "
        + ("none" if lat.count == 0 else
           f"median {lat.median_s:.2f} s, mean {lat.mean_s:.2f} s, "
           f"{_pct(lat.share_patient)} waited ≥ {result.config.metrics.patient_wait_s:g} s"),
        *(f"note: {n}" for n in result.notes),
    ]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"
