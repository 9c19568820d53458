"""Which language a customer wrote in: py3langid (a naive-Bayes byte n-gram model, 4 MB, BSD,
offline), loaded once per process on first use.

Short texts ("ok", "STOP", "Gracias!") carry too little to tell, so they count as English unless
the model is very sure; the offline brain writes English only and hands anything else to a person.
"""

from __future__ import annotations

import re
import threading
from array import array
from typing import Any

ENGLISH = "en"
SURE = 0.9  # normalised probability above which a non-English reading is trusted
MIN_LETTERS = 12  # fewer letters than this: too short to tell

# The languages customers of a small business plausibly write in; fewer candidates, fewer
# false alarms on short English ("Can u come thurs?" is not Polish).
CANDIDATES = [
    "en",
    "es",
    "fr",
    "de",
    "it",
    "pt",
    "nl",
    "pl",
    "ru",
    "uk",
    "zh",
    "ja",
    "ko",
    "ar",
    "hi",
    "vi",
    "tr",
    "sv",
    "da",
    "no",
    "ro",
    "el",
    "he",
    "id",
    "tl",
    "cs",
    "hu",
    "fi",
]
NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "ru": "Russian",
    "uk": "Ukrainian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "hi": "Hindi",
    "vi": "Vietnamese",
    "tr": "Turkish",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "ro": "Romanian",
    "el": "Greek",
    "he": "Hebrew",
    "id": "Indonesian",
    "tl": "Tagalog",
    "cs": "Czech",
    "hu": "Hungarian",
    "fi": "Finnish",
}

_LOCK = threading.Lock()
_IDENTIFIER: list[Any] = []
_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")


def _identifier() -> Any:
    with _LOCK:
        if not _IDENTIFIER:
            from py3langid.langid import _load_identifier

            from sheepdog.heap import trim

            ident = _load_identifier(norm_probs=True, langs=list(CANDIDATES))
            # Keep only the candidate languages' columns: the full 97-language table is most of
            # the memory (about 60 MB) and is never used again.
            ident.nb_ptc = ident.nb_ptc.copy()
            ident._full_model = (ident.nb_ptc, ident.nb_pc, ident.nb_classes)
            # Per-state lists of Python ints become arrays (-11 MB) and the transitions are packed
            # (-30 MB): room for the sentence encoder in the < 200 MB a process may hold.
            ident._rowbase = array("q", ident._rowbase)
            ident.tk_output = array("i", ident.tk_output)
            ident.tk_nextmove = _Packed(ident.tk_nextmove)
            trim()
            _IDENTIFIER.append(ident)
        return _IDENTIFIER[0]


class _Packed:
    """py3langid's transition table (38,346 rows of 256 uint32, 39 MB) in 9 MB: 71 % of entries
    repeat the root row's (the automaton falling back), so each row keeps a 256-bit mask of where it
    differs and only those entries, each as 16 low bits and one high bit (every state is < 2**17).
    Read one entry at a time, as py3langid does: table[row * 256 + byte]."""

    __slots__ = ("high", "low", "masks", "offsets", "root", "size")

    def __init__(self, table: array) -> None:
        import numpy as np

        values = np.frombuffer(table, dtype=np.uint32)
        if values.size % 256 or (values.size and int(values.max()) >= 1 << 17):
            raise ValueError("not a table of 256-entry rows of 17-bit states")
        rows = values.reshape(-1, 256)
        differs = rows != rows[0]
        self.size = values.size
        self.root = tuple(int(v) for v in rows[0])
        bits = np.packbits(differs, axis=1, bitorder="little")
        self.masks = [int.from_bytes(row.tobytes(), "little") for row in bits]
        counts = differs.sum(axis=1)
        self.offsets = array("I", np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.uint32).tobytes())
        kept = rows[differs]  # row by row, byte by byte: the order the masks count in
        self.low = array("H", (kept & 0xFFFF).astype(np.uint16).tobytes())
        self.high = bytes(np.packbits((kept >> 16).astype(np.uint8), bitorder="little"))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> int:
        row, byte = i >> 8, i & 255
        mask = self.masks[row]
        if not (mask >> byte) & 1:
            return self.root[byte]
        k = self.offsets[row] + (mask & ((1 << byte) - 1)).bit_count()
        return self.low[k] | ((self.high[k >> 3] >> (k & 7)) & 1) << 16


def load() -> None:
    """Load the model now (a process warming up), not inside the first customer's reply."""
    _identifier()


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, confidence); English when the text is too short or the model unsure."""
    clean = _URL.sub(" ", text or "")
    letters = sum(1 for ch in clean if ch.isalpha())
    if letters < MIN_LETTERS:
        return ENGLISH, 0.0
    code, prob = _identifier().classify(clean)
    code, prob = str(code), float(prob)
    if code != ENGLISH and prob < SURE:
        return ENGLISH, 1.0 - prob
    return code, prob


def name(code: str | None) -> str:
    """'es' → 'Spanish' (the code itself for a language without a name here)."""
    return NAMES.get(code or ENGLISH, code or "English")


def is_english(code: str | None) -> bool:
    return code in (None, "", ENGLISH)
