"""The sentence encoder's int8 weights kept 8-bit at run time: its ONNX graph rewritten.

The export stores every weight matrix as int8 with one float scale per output column (per
row for the embedding tables) and turns it back into float32 inside the graph (Cast, Mul).
onnxruntime folds those constant subgraphs when it loads the model, so the session held
90 MB of float32 weights (measured: the session added ~155 MB). Rewritten here, before
onnxruntime sees it:

- a MatMul with such a weight becomes DynamicQuantizeLinear (the activations to uint8, one
  scale per call) → MatMulInteger with the weight → Cast → × (activation scale × the
  weight's column scales): onnxruntime's integer GEMM; the weights stay 8-bit;
- an embedding Gather takes the int8 rows and their scales; only the rows taken become float.

A product's weight goes to MatMulInteger as uint8 (each int8 value plus 128) with zero point
128, which is the same integer product: onnxruntime's uint8 × int8 kernel for CPUs with AVX2
and no AVX-512 VNNI adds pairs of products in 16 bits with saturation (measured on an AMD
EPYC: a 4×64 by 64×16 product of extreme values off by up to 281,045), so the embeddings,
and a few labels, depended on the CPU; its uint8 × uint8 kernels are exact on every CPU.

The rewrite edits the protobuf wire format of ``ModelProto.graph`` directly: every other
node keeps its bytes and its place, the tables and the other initializers are copied byte
for byte. (The ``onnx`` package would do the same but keeps ~90 MB of Python objects in
the process.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from live_attune.errors import ModelError

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_INITIALIZER = 7, 1, 5  # ModelProto.graph, GraphProto's
_TENSOR_TYPE, _TENSOR_NAME, _TENSOR_RAW = 2, 8, 9  # TensorProto.data_type, .name, .raw_data
_INT8, _UINT8 = 3, 2  # TensorProto.DataType
UINT8_SUFFIX = "/uint8"  # a product's weight as uint8: its int8 initializer's name + this
ZERO_POINT = "int8_graph/zero_point_128"  # the uint8 weights' zero point (a scalar)
_NODE_INPUT, _NODE_OUTPUT, _NODE_OP = 1, 2, 4  # NodeProto fields
_NODE_ATTRIBUTE = 5
_ATTR_NAME, _ATTR_INT, _ATTR_TYPE, _ATTR_TYPE_INT = 1, 3, 20, 2  # AttributeProto
_FLOAT = 1  # TensorProto.DataType.FLOAT


@dataclass(frozen=True, slots=True)
class Field:
    """One protobuf field: its number, its whole encoding, and its payload if length-delimited."""

    number: int
    raw: memoryview
    payload: memoryview


@dataclass(frozen=True, slots=True)
class Node:
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    raw: memoryview  # the node's whole field in GraphProto, kept as it is when not rewritten


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ModelError("the sentence encoder's graph is cut short")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def fields(buf: memoryview) -> Iterator[Field]:
    """The fields of one protobuf message, in order."""
    pos = 0
    while pos < len(buf):
        start = pos
        tag, pos = _varint(buf, pos)
        wire, body = tag & 7, pos
        if wire == _VARINT:
            _, pos = _varint(buf, pos)
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
        elif wire == _LEN:
            size, body = _varint(buf, pos)
            pos = body + size
        else:
            raise ModelError(f"the sentence encoder's graph has a field of wire type {wire}")
        if pos > len(buf):
            raise ModelError("the sentence encoder's graph is cut short")
        yield Field(tag >> 3, buf[start:pos], buf[body:pos] if wire == _LEN else buf[pos:pos])


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _encode_varint(number << 3 | _VARINT) + _encode_varint(value)


def _attribute(name: str, value: int) -> bytes:
    """An AttributeProto holding one int."""
    return _len_field(_NODE_ATTRIBUTE, _len_field(_ATTR_NAME, name.encode())
                      + _int_field(_ATTR_INT, value) + _int_field(_ATTR_TYPE, _ATTR_TYPE_INT))


def node_bytes(op: str, inputs: tuple[str, ...], outputs: tuple[str, ...],
               **attributes: int) -> bytes:
    """A GraphProto.node field: a NodeProto of the default domain."""
    body = b"".join(_len_field(_NODE_INPUT, i.encode()) for i in inputs)
    body += b"".join(_len_field(_NODE_OUTPUT, o.encode()) for o in outputs)
    body += _len_field(_NODE_OP, op.encode())
    body += b"".join(_attribute(k, v) for k, v in attributes.items())
    return _len_field(_GRAPH_NODE, body)


def parse_node(field: Field) -> Node:
    op, inputs, outputs = "", [], []
    for f in fields(field.payload):
        if f.number == _NODE_OP:
            op = bytes(f.payload).decode()
        elif f.number == _NODE_INPUT:
            inputs.append(bytes(f.payload).decode())
        elif f.number == _NODE_OUTPUT:
            outputs.append(bytes(f.payload).decode())
    return Node(op, tuple(inputs), tuple(outputs), field.raw)


def dequantised_weights(nodes: list[Node]) -> dict[str, tuple[str, str, str]]:
    """Weight name → (its int8 initializer, its scale, the Cast's output) for every
    ``Mul(Cast(q), scale)`` whose only users are MatMuls (as weight) and Gathers (as table):
    the ones the rewrite replaces."""
    casts = {n.outputs[0]: n.inputs[0] for n in nodes if n.op == "Cast"}
    found = {n.outputs[0]: (casts[n.inputs[0]], n.inputs[1], n.inputs[0]) for n in nodes
             if n.op == "Mul" and n.inputs[0] in casts and n.inputs[1].endswith("_scale")}
    cast_of = {cast: weight for weight, (_, _, cast) in found.items()}
    for n in nodes:
        for k, name in enumerate(n.inputs):
            if name in found and (n.op, k) not in (("MatMul", 1), ("Gather", 0)):
                found.pop(name)  # used some other way: left as it is
            elif name in cast_of and n.outputs[0] != cast_of[name]:
                found.pop(cast_of[name], None)
    return found


def integer_matmul(x: str, q: str, scale: str, out: str) -> bytes:
    """``x @ dequantised(q)`` with the weight left 8-bit (the activations quantised per call;
    the weight read as uint8 with zero point 128: ``q + UINT8_SUFFIX``)."""
    return b"".join((
        node_bytes("DynamicQuantizeLinear", (x,), (f"{out}/xq", f"{out}/xs", f"{out}/xz")),
        node_bytes("MatMulInteger", (f"{out}/xq", q + UINT8_SUFFIX, f"{out}/xz", ZERO_POINT),
                   (f"{out}/int",)),
        node_bytes("Cast", (f"{out}/int",), (f"{out}/float",), to=_FLOAT),
        node_bytes("Mul", (f"{out}/xs", scale), (f"{out}/scale",)),
        node_bytes("Mul", (f"{out}/float", f"{out}/scale"), (out,))))


def gathered_rows(q: str, scale: str, index: str, out: str) -> bytes:
    """``dequantised(q)[index]``: only the rows taken become float."""
    return b"".join((
        node_bytes("Gather", (q, index), (f"{out}/q",)),
        node_bytes("Gather", (scale, index), (f"{out}/s",)),
        node_bytes("Cast", (f"{out}/q",), (f"{out}/f",), to=_FLOAT),
        node_bytes("Mul", (f"{out}/f", f"{out}/s"), (out,))))


Pieces = list[bytes | memoryview]  # a message's bytes in order, slices of the input kept as such


def tensor_name(tensor: memoryview) -> str:
    return next((bytes(f.payload).decode() for f in fields(tensor) if f.number == _TENSOR_NAME),
                "")


_TENSOR_OTHER_DATA = {5, 13, 14}  # int32_data, external_data, data_location


def as_uint8(tensor: memoryview) -> Pieces:
    """A GraphProto.initializer field, in pieces: the int8 TensorProto as uint8 (every value
    plus 128), named with UINT8_SUFFIX; its other fields (the dimensions) as they are. Its
    values must lie in raw_data (the export's way; int32_data or an external file are
    refused, not copied unshifted)."""
    numbers = {f.number for f in fields(tensor)}
    if _TENSOR_RAW not in numbers or numbers & _TENSOR_OTHER_DATA:
        raise ModelError("the sentence encoder has a product weight stored other than as "
                         "raw bytes")
    body: Pieces = []
    for f in fields(tensor):
        if f.number == _TENSOR_TYPE:
            if _varint(f.raw, 1)[0] != _INT8:
                raise ModelError("the sentence encoder has a product weight that is not int8")
            body.append(_int_field(_TENSOR_TYPE, _UINT8))
        elif f.number == _TENSOR_NAME:
            body.append(_len_field(_TENSOR_NAME, bytes(f.payload) + UINT8_SUFFIX.encode()))
        elif f.number == _TENSOR_RAW:
            shifted = np.frombuffer(f.payload, np.uint8) ^ np.uint8(0x80)  # int8 v → v + 128
            body += [_encode_varint(_TENSOR_RAW << 3 | _LEN) + _encode_varint(len(f.payload)),
                     shifted.data]
        else:
            body.append(f.raw)
    size = sum(len(b) for b in body)
    return [_encode_varint(_GRAPH_INITIALIZER << 3 | _LEN) + _encode_varint(size), *body]


def zero_point_128() -> bytes:
    """A GraphProto.initializer field: ZERO_POINT, the uint8 scalar 128."""
    return _len_field(_GRAPH_INITIALIZER, _int_field(_TENSOR_TYPE, _UINT8)
                      + _len_field(_TENSOR_NAME, ZERO_POINT.encode())
                      + _len_field(_TENSOR_RAW, b"\x80"))


def _initializer(f: Field, products: set[str], read_int8: set[str]) -> Pieces:
    """An initializer as it goes into the rewritten graph: a product's weight as uint8 (and
    kept as int8 too only if a node still reads it: a table, another Cast), everything else
    as it is."""
    name = tensor_name(f.payload) if f.number == _GRAPH_INITIALIZER else ""
    if name not in products:
        return [f.raw]
    return [*as_uint8(f.payload), *([f.raw] if name in read_int8 else [])]


def _weight_use(node: Node, weights: dict[str, tuple[str, str, str]]) -> str:
    """"product" (a MatMul's right side), "table" (a Gather's) or "" for a node that reads
    no rewritten weight that way."""
    if node.op == "MatMul" and node.inputs[1] in weights:
        return "product"
    return "table" if node.op == "Gather" and node.inputs[0] in weights else ""


def rewrite_graph(graph: memoryview) -> tuple[Pieces, int]:
    """The GraphProto with its int8 weights used as 8-bit; how many uses were rewritten."""
    parts: list[Field] = list(fields(graph))
    nodes = [parse_node(f) for f in parts if f.number == _GRAPH_NODE]
    weights = dequantised_weights(nodes)
    dequant = set(weights) | {cast for _, _, cast in weights.values()}
    used = [(n, _weight_use(n, weights)) for n in nodes]
    products = {weights[n.inputs[1]][0] for n, u in used if u == "product"}
    tables = {weights[n.inputs[0]][0] for n, u in used if u == "table"}
    read_int8 = tables | {name for n, u in used if not u and n.outputs[0] not in dequant
                          for name in n.inputs}
    out: Pieces = [zero_point_128()] if products else []
    rewritten, i = 0, 0
    for f in parts:
        if f.number != _GRAPH_NODE:
            out += _initializer(f, products, read_int8)
            continue
        (node, u), i = used[i], i + 1
        if u == "product":
            q, scale, _ = weights[node.inputs[1]]
            out.append(integer_matmul(node.inputs[0], q, scale, node.outputs[0]))
        elif u == "table":
            q, scale, _ = weights[node.inputs[0]]
            out.append(gathered_rows(q, scale, node.inputs[1], node.outputs[0]))
        elif node.outputs[0] not in dequant:
            out.append(node.raw)
            continue
        else:
            continue  # the float weight is never made
        rewritten += 1
    return out, rewritten


def int8_model_pieces(model: bytes) -> Pieces:
    """The ModelProto with every int8 weight used as 8-bit (``rewrite_graph``), in pieces:
    the tables and other initializers stay slices of ``model``, the product weights are
    their uint8 copies (no further copy until the pieces are written)."""
    out: Pieces = []
    rewritten = 0
    for f in fields(memoryview(model)):
        if f.number == _MODEL_GRAPH:
            graph, rewritten = rewrite_graph(f.payload)
            size = sum(len(p) for p in graph)
            out += [_encode_varint(_MODEL_GRAPH << 3 | _LEN) + _encode_varint(size), *graph]
        else:
            out.append(f.raw)
    if not rewritten:
        raise ModelError("the sentence encoder's graph has no int8 weights to keep 8-bit")
    return out


def int8_model(model: bytes) -> bytes:
    return b"".join(int8_model_pieces(model))
