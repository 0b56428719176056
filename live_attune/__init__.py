"""live_attune: local, real-time turn-taking feedback for psychotherapists."""

from live_attune._runtime import quiet_third_party_runtimes

__version__ = "0.1.0"

# Before anything below the package can import onnxruntime, numba or matplotlib: every
# entry point (the CLI, tests, benches, scripts, worker threads) imports this package first.
quiet_third_party_runtimes()
