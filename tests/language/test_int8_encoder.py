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
from typing import Any

import numpy as np
import pytest

from live_attune._runtime import onnx_session
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
    UINT8_SUFFIX,
    ZERO_POINT,
    Field,
    _int_field,
    _len_field,
    _varint,
    fields,
    int8_model,
    node_bytes,
    parse_node,
    rewrite_graph,
)

GRAPH, NODE, INITIALIZER, TENSOR_NAME = 7, 1, 5, 8
DIMS, DTYPE, RAW = 1, 2, 9  # TensorProto


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


def tensor(name: str, data_type: int, dims: tuple[int, ...], raw: bytes) -> bytes:
    """A GraphProto.initializer field (TensorProto: dims 1, data_type 2, name 8, raw_data 9)."""
    body = b"".join(_int_field(1, d) for d in dims) + _int_field(2, data_type)
    return _len_field(INITIALIZER, body + _len_field(8, name.encode()) + _len_field(9, raw))


def value_info(field: int, name: str, dims: tuple[int, ...]) -> bytes:
    """A float graph input (field 11) or output (12) of the given shape."""
    shape = b"".join(_len_field(1, _int_field(1, d)) for d in dims)
    tensor_type = _len_field(1, _int_field(1, 1) + _len_field(2, shape))
    return _len_field(field, _len_field(1, name.encode()) + _len_field(2, tensor_type))


def exported_product(weight: np.ndarray, rows: int) -> bytes:
    """A ModelProto shaped like the export: ``y = x @ (float(w_q) * w_scale)``, w_q int8."""
    n_in, n_out = weight.shape
    graph = b"".join((
        node_bytes("Cast", ("w_q",), ("w_f",), to=1),
        node_bytes("Mul", ("w_f", "w_scale"), ("w",)),
        node_bytes("MatMul", ("x", "w"), ("y",)),
        _len_field(2, b"toy"),
        tensor("w_q", 3, weight.shape, weight.astype(np.int8).tobytes()),
        tensor("w_scale", 1, (n_out,), np.ones(n_out, np.float32).tobytes()),
        value_info(11, "x", (rows, n_in)), value_info(12, "y", (rows, n_out))))
    opset = _len_field(8, _len_field(1, b"") + _int_field(2, 13))
    return _int_field(1, 8) + opset + _len_field(GRAPH, graph)


def test_an_integer_product_is_exact_on_this_cpu() -> None:
    """Activations 200-255 (quantised as they are: scale 1, zero point 0) times weights of
    ±127: the int8 weights given as int8 made onnxruntime's AVX2 kernel (no AVX-512 VNNI)
    saturate — off by up to 281,045 on an AMD EPYC; given as uint8 with zero point 128, the
    product is the exact integer one on every CPU."""
    rng = np.random.default_rng(0)
    x = rng.integers(200, 256, (4, 64)).astype(np.float32)
    x[0, 0] = 255.0  # the range 0-255: DynamicQuantizeLinear's scale is exactly 1
    w = rng.choice(np.array([-127, 127], np.int8), (64, 16))
    session = onnx_session(int8_model(exported_product(w, 4)), "a toy product")
    (y,) = session.run(None, {"x": x})
    exact = x.astype(np.int64) @ w.astype(np.int64)
    assert np.array_equal(y.astype(np.int64), exact)


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
    names_before = {bytes(g.payload).decode() for f in before_init for g in fields(f.payload)
                    if g.number == TENSOR_NAME}
    assert sum(parse_node(f).op == "Cast" and parse_node(f).inputs[0] in names_before
               for f in before_nodes) == 38  # the export's: every weight and table
    # the tables and other initializers are the package's bytes; each product's weight is
    # its int8 bytes plus 128, read as uint8 with zero point 128
    before = {tensor_fields(f)[TENSOR_NAME]: f for f in before_init}
    after = {tensor_fields(f)[TENSOR_NAME]: f for f in after_init}
    products = {n[: -len(UINT8_SUFFIX)] for n in after if n.endswith(UINT8_SUFFIX)}
    assert len(products) == 36
    assert set(after) == (set(before) - products) | {n + UINT8_SUFFIX for n in products} | {
        ZERO_POINT}
    assert all(bytes(after[n].raw) == bytes(before[n].raw) for n in set(before) - products)
    for name in products:
        was, now = tensor_fields(before[name]), tensor_fields(after[name + UINT8_SUFFIX])
        assert (was[DTYPE], now[DTYPE], was[DIMS], now[DIMS]) == (3, 2, was[DIMS], was[DIMS])
        assert np.array_equal(np.frombuffer(now[RAW], np.uint8).astype(np.int16) - 128,
                              np.frombuffer(was[RAW], np.int8))


def tensor_fields(initializer: Field) -> dict[int, Any]:
    """A TensorProto's name (str), data type (int), dims (tuple) and raw data (bytes)."""
    out: dict[int, Any] = {DIMS: ()}
    for g in fields(initializer.payload):
        if g.number == TENSOR_NAME:
            out[TENSOR_NAME] = bytes(g.payload).decode()
        elif g.number == RAW:
            out[RAW] = bytes(g.payload)
        elif g.number == DTYPE:
            out[DTYPE] = _varint(g.raw, 1)[0]  # after the one-byte tag
        elif g.number == DIMS:
            out[DIMS] = (*out[DIMS], _varint(g.raw, 1)[0])
    return out


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
    """The activations are quantised to 8 bits per product; the integer products are exact
    (test_an_integer_product_is_exact_on_this_cpu), so what is left is float rounding.
    Measured on a CPU with AVX-512 VNNI over these 120: median cosine 0.991. On one with AVX2
    only (AMD EPYC), the weights as uint8: max |Δ| 0.042, cosine ≥ 0.975, median 0.992
    (session 12, the weights given as int8, which that CPU's kernel saturates: 0.055, 0.965,
    0.990)."""
    texts = annomi_texts(shared_data, 120)
    reference = SentenceEncoder(int8=False)
    ours = np.stack([default_encoder().embed(t) for t in texts])
    theirs = np.stack([reference.embed(t) for t in texts])
    assert float(np.abs(ours - theirs).max()) <= 0.05
    assert float((ours * theirs).sum(1).min()) >= 0.97
    assert float(np.median((ours * theirs).sum(1))) >= 0.988


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
    """Only weights whose every use is a MatMul's right side or a Gather's table stay 8-bit."""
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
    parts = list(fields(memoryview(b"".join(graph))))
    ops = [parse_node(f).op for f in parts if f.number == NODE]
    assert [tensor_fields(f)[TENSOR_NAME] for f in parts if f.number == INITIALIZER] == [
        ZERO_POINT]
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


def test_a_weight_both_table_and_product_is_kept_int8_beside_its_uint8_copy() -> None:
    weight = np.array([[-128, -1], [0, 127]], np.int8)
    graph = b"".join((
        node_bytes("Cast", ("t_q",), ("t_f",), to=1),
        node_bytes("Mul", ("t_f", "t_scale"), ("t",)),
        node_bytes("Gather", ("t", "ids"), ("rows",)),
        node_bytes("MatMul", ("rows", "t"), ("y",)),
        tensor("t_q", 3, weight.shape, weight.tobytes())))
    out, rewritten = rewrite_graph(memoryview(graph))
    inits = {(t := tensor_fields(f))[TENSOR_NAME]: t for f in fields(memoryview(b"".join(out)))
             if f.number == INITIALIZER}
    assert rewritten == 2
    assert sorted(inits) == sorted(["t_q", "t_q" + UINT8_SUFFIX, ZERO_POINT])
    assert inits["t_q"][RAW] == weight.tobytes() and inits["t_q"][DTYPE] == 3
    assert inits["t_q" + UINT8_SUFFIX][RAW] == bytes([0, 127, 128, 255])
    assert (inits[ZERO_POINT][DTYPE], inits[ZERO_POINT][RAW]) == (2, bytes([128]))


def test_a_product_weight_another_node_reads_is_kept_int8_too() -> None:
    """A second Cast of the same int8 weight (left as it is) still finds it."""
    weight = np.array([[1, -2], [3, -4]], np.int8)
    graph = b"".join((
        node_bytes("Cast", ("w_q",), ("w_f",), to=1),
        node_bytes("Mul", ("w_f", "w_scale"), ("w",)),
        node_bytes("MatMul", ("x", "w"), ("y",)),
        node_bytes("Cast", ("w_q",), ("w_again",), to=1),
        node_bytes("Neg", ("w_again",), ("n",)),
        tensor("w_q", 3, weight.shape, weight.tobytes())))
    out, rewritten = rewrite_graph(memoryview(graph))
    inits = [tensor_fields(f)[TENSOR_NAME] for f in fields(memoryview(b"".join(out)))
             if f.number == INITIALIZER]
    assert rewritten == 1
    assert sorted(inits) == sorted(["w_q", "w_q" + UINT8_SUFFIX, ZERO_POINT])


def test_a_product_weight_not_in_raw_bytes_is_refused() -> None:
    """int32_data (field 5) holding the values: shifting raw_data would leave them as they
    are under a uint8 type."""
    values = b"".join(_int_field(5, v) for v in (1, 2, 3, 4))
    body = _int_field(1, 2) + _int_field(1, 2) + _int_field(2, 3) + _len_field(8, b"w_q")
    graph = b"".join((
        node_bytes("Cast", ("w_q",), ("w_f",), to=1),
        node_bytes("Mul", ("w_f", "w_scale"), ("w",)),
        node_bytes("MatMul", ("x", "w"), ("y",)),
        _len_field(INITIALIZER, body + values)))
    with pytest.raises(ModelError, match="raw bytes"):
        rewrite_graph(memoryview(graph))
