"""The encoder's graph rewritten to keep its int8 weights int8: what the rewrite makes, how
far its embeddings are from the export's float arithmetic on real AnnoMI utterances, the
memory it takes in a fresh process, and the token limit."""

from __future__ import annotations

import csv
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from live_attune.errors import ModelError
from live_attune.language.encoder import (
    MAX_TOKENS,
    SentenceEncoder,
    checked_bytes,
    default_encoder,
    model_path,
    word_pieces,
)
from live_attune.language.int8_graph import (
    Field,
    fields,
    int8_model,
    node_bytes,
    parse_node,
    rewrite_graph,
)

GRAPH, NODE, INITIALIZER, TENSOR_NAME = 7, 1, 5, 8


def graph_parts(model: bytes) -> tuple[list[Field], list[Field]]:
    graph = next(f for f in fields(memoryview(model)) if f.number == GRAPH)
    parts = list(fields(graph.payload))
    return ([f for f in parts if f.number == NODE], [f for f in parts if f.number == INITIALIZER])


@pytest.fixture(scope="module")
def original() -> bytes:
    return checked_bytes(model_path())


def test_a_node_written_reads_back() -> None:
    raw = node_bytes("Cast", ("a/q",), ("a/f",), to=1)
    (field,) = fields(memoryview(raw))
    node = parse_node(field)
    assert (node.op, node.inputs, node.outputs) == ("Cast", ("a/q",), ("a/f",))
    assert bytes(node.raw) == raw


def test_every_weight_product_becomes_integer_and_no_float_weight_is_made(original: bytes
                                                                          ) -> None:
    rewritten = int8_model(original)
    before_nodes, before_init = graph_parts(original)
    after_nodes, after_init = graph_parts(rewritten)
    ops_before = Counter(parse_node(f).op for f in before_nodes)
    ops = Counter(parse_node(f).op for f in after_nodes)
    assert ops_before["MatMul"] == 48 and ops["MatMul"] == 12  # 36 weights; 12 attention
    assert ops["MatMulInteger"] == ops["DynamicQuantizeLinear"] == 36
    # no initializer is turned into float whole: only rows a Gather took, and products
    names = {bytes(g.payload).decode() for f in after_init for g in fields(f.payload)
             if g.number == TENSOR_NAME}
    assert len(names) == len(after_init) > 76
    casts = [parse_node(f) for f in after_nodes if parse_node(f).op == "Cast"]
    assert not [c.inputs[0] for c in casts if c.inputs[0] in names]
    assert sum(parse_node(f).op == "Cast" and parse_node(f).inputs[0] in names
               for f in before_nodes) == 38  # the export's: every weight and table
    # the weights themselves are the package's bytes
    assert [bytes(f.raw) for f in after_init] == [bytes(f.raw) for f in before_init]


def test_a_cut_file_is_refused(original: bytes) -> None:
    with pytest.raises(ModelError, match="cut short"):
        int8_model(original[: len(original) // 2])


def annomi_texts(shared_data: Path, n: int) -> list[str]:
    """n distinct AnnoMI utterances of every length (training transcripts only)."""
    with (shared_data / "annomi/annomi_dev.csv").open(newline="") as f:
        texts = sorted({r["utterance_text"] for r in csv.DictReader(f)
                        if int(r["transcript_id"]) % 5 != 0}, key=lambda t: (len(t), t))
    return texts[:: len(texts) // n][:n]


@pytest.mark.slow
def test_int8_embeddings_stay_near_the_float_ones(shared_data: Path) -> None:
    """The activations are quantised to 8 bits per product, and onnxruntime's integer
    kernels differ by CPU. Measured on a CPU with AVX-512 VNNI over these 120: median cosine
    0.991; over 317: max |Δ| 0.043 per number, cosine ≥ 0.974. On one with AVX2 only (AMD
    EPYC, session 12; its kernels likely sum pairs of uint8 × int8 products in 16 bits, with
    saturation): these 120 max |Δ| 0.055, cosine ≥ 0.965, median 0.990; over 317 max |Δ|
    0.063, cosine ≥ 0.951; of the first 600 training utterances' labels (with their
    context), 6 differ from the float encoder's. The bounds hold on both."""
    texts = annomi_texts(shared_data, 120)
    reference = SentenceEncoder(int8=False)
    ours = np.stack([default_encoder().embed(t) for t in texts])
    theirs = np.stack([reference.embed(t) for t in texts])
    assert float(np.abs(ours - theirs).max()) <= 0.07
    assert float((ours * theirs).sum(1).min()) >= 0.95
    assert float(np.median((ours * theirs).sum(1))) >= 0.985


@pytest.mark.slow
def test_the_encoder_adds_about_forty_megabytes() -> None:
    """In a fresh process (onnxruntime already imported, as the VAD has it in a session):
    measured ~40 MB; the export folded to float32 added ~155 MB."""
    code = (
        "import live_attune, onnxruntime\n"
        "from pathlib import Path\n"
        "def rss():\n"
        "    s = Path('/proc/self/status').read_text().split('VmRSS:')[1]\n"
        "    return int(s.split()[0]) / 1024\n"
        "from live_attune.language.encoder import SentenceEncoder, _tokenizer\n"
        "_tokenizer(); before = rss()\n"
        "e = SentenceEncoder()\n"
        "e.embed('So you would like to cut down, and you are not sure how yet? ' * 20)\n"
        "print(rss() - before)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    added_mb = float(out.stdout.strip().splitlines()[-1])
    assert added_mb < 70, added_mb


def test_a_long_utterance_counts_its_first_word_pieces_only() -> None:
    start = "You said you want to drink less because of your kids and your health. " * 12
    assert len(start.split()) > MAX_TOKENS
    e = default_encoder()
    cut = e.embed(start)
    assert np.array_equal(cut, e.embed(start + "And what else would you change?"))
    assert not np.array_equal(cut, e.embed(start, MAX_TOKENS + 32))
    short = "What would you like to change?"
    assert np.array_equal(e.embed(short), e.embed(short, 512))


def test_a_weight_used_some_other_way_is_left_as_it_is() -> None:
    """Only weights whose every use is a MatMul's right side or a Gather's table go int8."""
    nodes = b"".join((
        node_bytes("Cast", ("w_q",), ("w_f",), to=1),
        node_bytes("Mul", ("w_f", "w_scale"), ("w",)),
        node_bytes("MatMul", ("x", "w"), ("y",)),
        node_bytes("Add", ("y", "w"), ("z",)),  # another use: w must stay float
        node_bytes("Cast", ("u_q",), ("u_f",), to=1),
        node_bytes("Mul", ("u_f", "u_scale"), ("u",)),
        node_bytes("Neg", ("u_f",), ("n",)),  # the cast int8 used itself: u stays float
        node_bytes("MatMul", ("n", "u"), ("m",)),
        node_bytes("Cast", ("v_q",), ("v_f",), to=1),
        node_bytes("Mul", ("v_f", "v_scale"), ("v",)),
        node_bytes("MatMul", ("z", "v"), ("out",))))
    graph, rewritten = rewrite_graph(memoryview(nodes))
    ops = [parse_node(f).op for f in fields(memoryview(b"".join(graph)))]
    assert rewritten == 1
    assert ops == ["Cast", "Mul", "MatMul", "Add", "Cast", "Mul", "Neg", "MatMul",
                   "DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul"]


def test_a_text_of_max_tokens_word_pieces_keeps_its_embedding_whatever_follows() -> None:
    """word_pieces counts what embed sees: at MAX_TOKENS pieces, more text changes nothing
    (the labeller stops re-embedding a client's turn there); one piece fewer, it does."""
    e = default_encoder()
    words = ("you", "said", "the", "weekends", "are", "hard")
    text = ""
    for i in itertools.count():  # one word piece per word: the count grows by one
        if word_pieces(text) == MAX_TOKENS - 1:
            break
        text = f"{text} {words[i % len(words)]}".strip()
    assert not np.array_equal(e.embed(text), e.embed(text + " really"))
    full = text + " really"
    assert word_pieces(full) == MAX_TOKENS
    assert np.array_equal(e.embed(full), e.embed(full + " and then? Somehow."))
    assert word_pieces("   ") == 0
