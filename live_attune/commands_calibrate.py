"""What ``live-attune calibrate`` does (argument parsing stays in cli.py; the procedures
and the profile format in calibration/)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from calibration.procedure import Calibration
from calibration.wizard import Publish, from_file, print_report, run_wizard
from live_attune.paths import data_dir

ENROL_S = 25.0  # the enrolment step (20 s of speech wanted, with some slack)


def default_profile_path() -> Path:
    return data_dir() / "profiles" / "default.toml"


def calibrate_command(args: argparse.Namespace) -> int:
    out: Path = args.out or default_profile_path()
    if args.call:
        from calibration.call import run_call_wizard

        def call_wizard(publish: Publish | None = None) -> Calibration:
            return run_call_wizard(mic=args.device, call=args.call_device, out=out,
                                   step_s=args.step_seconds, prompt=not args.no_prompt,
                                   publish=publish)

        print_report(_with_view(call_wizard, args), out)
        return 0
    if args.call_device is not None:
        from live_attune.errors import UsageError

        raise UsageError("--call-device goes with --call")
    if args.from_file is not None:
        cal = from_file(args.from_file, out=out, enrol=args.enrol)
        print_report(cal, out)
        return 0
    device = int(args.device) if isinstance(args.device, str) and args.device.isdigit() \
        else args.device
    enrol_s = ENROL_S if args.enrol else 0.0

    def wizard(publish: Publish | None = None) -> Calibration:
        return run_wizard(device=device, channels=args.input_channels, out=out,
                          step_s=args.step_seconds, enrol_s=enrol_s,
                          prompt=not args.no_prompt, publish=publish)

    print_report(_with_view(wizard, args), out)
    return 0


def _with_view(wizard: Callable[[Publish | None], Calibration], args: argparse.Namespace
               ) -> Calibration:
    """Run the wizard, with --dashboard while the calibration view shows its progress."""
    if not args.dashboard:
        return wizard(None)
    import asyncio

    from live_attune.server.app import ServeOptions, serve_calibration

    options = ServeOptions(port=args.port, open_browser=not args.no_browser)
    return asyncio.run(serve_calibration(options, wizard))
