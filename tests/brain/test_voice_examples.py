"""Voice examples from edits: de-duplicated, the most recent and the most representative kept, capped."""

from __future__ import annotations

from sheepdog.brain.voice import select_examples


def test_duplicates_go_the_newest_copy_stays_and_the_cap_holds() -> None:
    configured = ("Hi there, thanks for reaching out! - Dana",)
    typical = [
        f"Hi {n}, thanks for reaching out! We can come by on Tuesday. - Dana" for n in ("Sam", "Ali", "Jo")
    ]
    odd = "PRICE LIST ATTACHED. CALL 555-0100 NOW"
    learned = [
        odd,
        *typical,
        "hi there,  thanks for reaching out!  - dana",  # the configured one again, other case and spacing
        "Thanks! See you at 10:00 - Dana",
        "Thanks! See you at 11:30 - Dana",  # the same but for the number
        "Hi Maria, thanks for writing! Friday works for us. - Dana",
    ]
    picked = select_examples(configured, learned, cap=5)
    assert len(picked) == 5 and picked[0] == configured[0]
    # newest last: the newest edit, then the newest copy of the "See you at" reply
    assert picked[-1] == learned[-1] and picked[-2] == "Thanks! See you at 11:30 - Dana"
    assert "Thanks! See you at 10:00 - Dana" not in picked
    assert odd not in picked  # one odd reply does not set the tone: a typical one fills the room
    assert picked[1] in typical and picked[2] in typical
    assert select_examples((), [], cap=4) == ()
    assert len(select_examples((), [f"Reply number {c}" for c in "abcdefghijklmnop"], cap=12)) == 12
