"""Shared fixtures: synthetic conversations with known truth, and the real recordings."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from live_attune.session.offline import analyze_file
from live_attune.session.result import SessionResult
from live_attune.synth import MixConfig, ScenarioConfig, make_conversation
from live_attune.synth.scenario import Conversation
from live_attune.synth.truth import write

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
ACCURACY_SEEDS = (1, 2, 3, 4, 5, 6)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data directory (store, reports): never the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LIVE_ATTUNE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the real recordings are expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth")


def scripted(seed: int, config: ScenarioConfig | None = None) -> Conversation:
    """``make_conversation(seed, config)``, made once per test run: the generator tests, the
    renders below and tests/test_accuracy_hard.py read the same conversations. Shared: read
    it, never change it."""
    return _scripted(seed, config or ScenarioConfig())


@functools.cache
def _scripted(seed: int, config: ScenarioConfig) -> Conversation:
    return make_conversation(seed, config)


def render_seed(root: Path, seed: int, mix: MixConfig | None = None) -> dict[str, Path]:
    out = root / f"seed{seed}"
    if (out / "truth.json").exists():
        return {"stereo": out / "stereo.wav", "mono": out / "mono.wav",
                "truth": out / "truth.json"}
    return write(scripted(seed), out, mix or MixConfig(seed=seed))


@pytest.fixture(scope="session")
def conversation(synth_dir: Path) -> dict[str, Path]:
    """One rendered conversation (seed 1): stereo.wav, mono.wav, truth.json."""
    return render_seed(synth_dir, 1)


@pytest.fixture(scope="session")
def short_conversation(synth_dir: Path) -> dict[str, Path]:
    """A 58 s conversation (seed 14, 10 turns: 4 interruptions, 1 backchannel)."""
    out = synth_dir / "short14"
    if (out / "truth.json").exists():
        return {"stereo": out / "stereo.wav", "mono": out / "mono.wav",
                "truth": out / "truth.json"}
    return write(scripted(14, ScenarioConfig(turns=10)), out, MixConfig(seed=14))


BRIEF_SEED = 50
BRIEF = ScenarioConfig(turns=4, p_interrupt=0.35, p_failed_interrupt=0.25, p_backchannel=0.5,
                       p_long_silence=0.3)


@pytest.fixture(scope="session")
def brief_conversation(synth_dir: Path) -> dict[str, Path]:
    """A 22 s conversation (seed 50, 4 turns): both speakers, an interruption that takes the
    floor, a backchannel and a 5 s silence (tests/synth/test_generator.py holds it to that).
    For live tests that replay to the end: 2.7 s at 8x where the 58 s one takes 7."""
    out = synth_dir / f"brief{BRIEF_SEED}"
    if (out / "truth.json").exists():
        return {"stereo": out / "stereo.wav", "mono": out / "mono.wav",
                "truth": out / "truth.json"}
    return write(scripted(BRIEF_SEED, BRIEF), out, MixConfig(seed=BRIEF_SEED))


@functools.cache
def analysed(audio: Path, *, prosody: bool = False) -> SessionResult:
    """``analyze_file(audio)``, once per test run: tests/test_accuracy.py, live-equals-offline
    and the stored sessions of the API and report-view tests read the same analyses. Without
    ``prosody`` the tracker does not run (it changes no segment, event or metric). Shared:
    read it, never change it."""
    return analyze_file(audio, prosody=prosody)


def load_truth(paths: dict[str, Path]) -> dict:  # type: ignore[type-arg]
    return json.loads(paths["truth"].read_text())  # type: ignore[no-any-return]
