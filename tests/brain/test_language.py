"""Language detection: the packed transition table reads texts exactly as py3langid's own does,
and holds a fraction of its memory."""

from __future__ import annotations

import pytest

from sheepdog.brain import language
from tests.brain.conftest import rss_growth_mb

TEXTS = [
    "Hola, ¿cuánto cuesta limpiar una alfombra de tres metros? Gracias por todo",
    "Bonjour, pouvez-vous venir réparer mon chauffe-eau demain matin ?",
    "Guten Tag, können Sie morgen früh die Heizung prüfen? Danke",
    "My AC is rattling, can someone come Thursday Dec 3, 8-11?",
    "Добрый день, сколько стоит установка кондиционера?",
    "お見積もりをお願いできますか。来週の火曜日はいかがでしょうか。",
    "🔥🔥 need help NOW my basement is flooding 🔥🔥 call me 555-0100",
    "x" * 3000,
]


def test_the_packed_table_reads_as_py3langid_does() -> None:
    from py3langid.langid import _load_identifier

    reference = _load_identifier(norm_probs=True, langs=list(language.CANDIDATES))
    ours = language._identifier()
    assert isinstance(ours.tk_nextmove, language._Packed)
    assert len(ours.tk_nextmove) == len(reference.tk_nextmove)
    step = len(reference.tk_nextmove) // 5000
    assert all(
        ours.tk_nextmove[i] == reference.tk_nextmove[i] for i in range(0, len(reference.tk_nextmove), step)
    )
    for text in TEXTS:
        code, prob = ours.classify(text)
        want_code, want_prob = reference.classify(text)
        assert code == want_code, text
        assert prob == pytest.approx(want_prob, abs=1e-6), text


@pytest.mark.parametrize(
    ("text", "code"),
    [(TEXTS[0], "es"), (TEXTS[1], "fr"), (TEXTS[2], "de"), (TEXTS[3], "en"), ("Gracias!", "en")],
)
def test_detect(text: str, code: str) -> None:
    assert language.detect(text)[0] == code


def test_the_model_holds_about_twenty_megabytes() -> None:
    """py3langid as loaded held ~80 MB for good; packed and with arrays for its lists, ~20 MB
    (measured in a fresh process: this test worker has other models loaded)."""
    grown = rss_growth_mb(
        "from sheepdog.brain import language\n"
        "language.load()\n"
        "language.detect('Hola, ¿cuánto cuesta limpiar una alfombra? Gracias')"
    )
    assert grown < 32
