"""Long letters for training: a story of being let down, and long messages that are not complaints.

Why: until the fifth round of issue 16 the training set held almost no message over 40 words
that was not spam, so a long e-mail telling what went wrong ("In March your crew installed …, the
invoice charged us for …, I have called four times …") was read by the words it happened to
share with a sales inquiry or a cancellation. Real owners get such letters. These are written for
this project, sentence pools in the trades of `common.DOMAINS`, composed with a fixed seed; no
sentence is taken from an evaluation source. More long letters that are *not*
complaints (a project described before a quote, a refund or a cancellation asked for after a
story, a booking or a status question with context) keep length from reading as complaint.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.triage.datagen.common import DOMAINS, fill, noisy

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "September", "October", "November"]

_OPEN = [
    "In {month} I hired your company for a {svc} at our {place}.",
    "Back in {month} your {staff} did the {svc} for us.",
    "I have been a customer of yours for six years and booked a {svc} in {month}.",
    "On {day} I paid {amt} up front for a {svc}.",
    "I signed up for your {svc} in {month} after a friend recommended you.",
    "Last {month} I bought a {product} from you and paid for the {svc} as well.",
    "I am writing about the {svc} your team did in {month}.",
    "We used {company} for a {svc} at our {place} this spring.",
    "My {svc} with you started in {month} and I have paid every bill on time.",
    "Two months ago I arranged a {svc} through your website.",
]
_WRONG = [
    "The {staff} arrived three hours late and left before the job was finished.",
    "A week later the {product} stopped working again.",
    "The invoice came to {amt} more than the written quote.",
    "A fee appeared on my bill that nobody had mentioned.",
    "The invoice lists work that was never done.",
    "My payment was applied to someone else's account.",
    "I was told on the phone that it had been fixed, which was not true.",
    "The {staff} was rude when I asked what had been done.",
    "I was promised a call back the same day and it never came.",
    "The paperwork you sent has the wrong name and the wrong address on it.",
    "My account was marked as late even though the payment went out on time.",
    "The {product} was scratched and dented when it was delivered.",
    "Nobody explained the terms before I was asked to sign.",
    "They charged my card a second time for the same visit.",
    "The {staff} damaged the floor on the way out and said nothing.",
    "The work was so sloppy that it had to be redone by someone else.",
    "The appointment was moved twice without anyone telling me.",
    "The statement still shows a balance I paid off months ago.",
    "A renewal went through without my permission.",
    "The part they fitted was the wrong one for my {product}.",
    # accounts and billing, which every trade with payment plans or memberships hears about
    "They sent my account to collections over a bill I had already paid.",
    "A late fee was added even though the payment cleared on time.",
    "The contract I was given is not what the {staff} told me I was signing.",
    "My payment plan was set up at a higher rate than the one I agreed to.",
    "They kept billing me for a plan I closed in {month}.",
    "The balance was reported as unpaid when it had been settled in full.",
]
_CHASE = [
    "I called the office on {day} and again the following week.",
    "I have sent three e-mails since then.",
    "Each time I call I am passed to someone new and have to explain it all again.",
    "I was told a manager would get back to me.",
    "I filled in the form on your website twice.",
    "I spoke to your {staff}, who said it would be sorted out.",
    "I wrote to the company with copies of my receipts.",
    "I went into the {place} in person to ask about it.",
    "I sent a written dispute with copies of my bank statements.",
]
_OUTCOME = [
    "Nobody has responded.",
    "Nothing has been done about it.",
    "I am still waiting for anyone to look into it.",
    "Your staff keep telling me it is being handled, and it is not.",
    "The problem is still there today.",
    "I have now spent hours of my own time on this.",
    "It has been five weeks and I have heard nothing.",
    "The answer each time is that they can't see a problem.",
]
_CLOSE = [
    "This is not the service I paid for.",
    "I am very disappointed in how this has been handled.",
    "I want someone to look into this properly.",
    "I have never been treated like this by a business.",
    "I expect better from a company I have recommended to others.",
    "",
    "",
]

# Long messages that are not complaints: the context first, then what they ask.
_LONG_OTHER: dict[str, tuple[list[str], list[str]]] = {
    "sales_inquiry": (
        [
            "We moved into a house in {month} and the {place} has never been updated.",
            "Our {product} is about fifteen years old and we have been putting this off for a while.",
            "A neighbour of ours used you last year and was happy with the work.",
            "We are renovating the whole ground floor over the summer.",
            "I run a small office with twelve people and our lease was renewed in {month}.",
            "We have a budget of around {amt} and some flexibility on timing.",
        ],
        [
            "Could you give us a quote for a {svc}?",
            "We would like someone to come and look at a {svc} for us.",
            "Is a {svc} something you could take on, and roughly when could you start?",
            "Please let me know whether you do {svc} and what you would need from us.",
        ],
    ),
    "refund_request": (
        [
            "I booked a {svc} for {day} and paid {amt} when I booked.",
            "The {staff} called the morning of the visit to say nobody could come.",
            "I bought a {product} from you in {month} and it stopped working within a week.",
            "We had to find another company at short notice and they did the work.",
            "I returned the {product} to the {place} with the receipt.",
        ],
        [
            "I would like a full refund of the {amt}, please.",
            "Please refund the deposit to the card I paid with.",
            "I want my money back for the {svc}.",
            "Could you reimburse me for the visit that never happened?",
        ],
    ),
    "cancellation": (
        [
            "We are moving out of state at the end of {month}.",
            "My circumstances have changed since I signed up in {month}.",
            "We have decided to hold off on the {svc} until next year.",
            "I have enjoyed the {svc} but I no longer need it.",
            "My mother, who the {svc} was for, has moved in with my sister.",
        ],
        [
            "Please cancel my {svc} from the next billing date.",
            "I would like to cancel the {svc} booked for {day}.",
            "Could you close my account and confirm by e-mail?",
            "I need to cancel everything we had planned with you.",
        ],
    ),
    "booking": (
        [
            "We spoke on the phone last week about the {svc} for our {place}.",
            "My work schedule has changed and I am now free most mornings.",
            "The {staff} who came last time did a great job and we would like the same again.",
            "We have guests arriving at the end of {month} and want it done before then.",
        ],
        [
            "Could you book us in for {day} at {time}?",
            "Is {day} at {time} free for the {svc}?",
            "Please put me down for the first morning you have next week.",
            "Can we schedule the {svc} for {day}?",
        ],
    ),
    "status_inquiry": (
        [
            "I placed an order for a {product} on {day} and paid in full.",
            "Your {staff} said the parts for my {svc} had been ordered.",
            "The quote you sent in {month} said the work would take about two weeks.",
            "I applied for the {svc} online and got an e-mail saying it was received.",
        ],
        [
            "Could you tell me where it stands?",
            "Do you know when it will be ready?",
            "Is there an update on when the {staff} can come?",
            "Can you let me know how far along it is?",
        ],
    ),
}


# A need told without a question (added in the sixth round): what broke, its details, when someone
# can come. No business is blamed and nothing is asked, yet it is a new customer's request for work,
# not a complaint; without these the complaint letters taught "long, something broke" = complaint.
_NEED = (
    [
        "The {product} stopped working on {day} morning.",
        "Since {day} the {product} has been making a loud grinding noise.",
        "There is water pooling under the {product} in the {place}.",
        "The {product} started acting up over the weekend.",
        "The {product} shuts itself off after a few minutes and will not come back on.",
        "The {product} is cracked and it is getting worse every day.",
        "We noticed a burning smell coming from the {product} last night.",
        "The {product} quit on us this morning.",
    ],
    [
        "It is about twelve years old and has never given us trouble before.",
        "It came with the {place} when we moved in, in {month}.",
        "I tried turning it off and on again and it made no difference.",
        "We have two small kids at home and my mother lives with us.",
        "It was put in by the previous owners, so I know very little about it.",
        "Another company looked at it years ago and said it was fine then.",
        "It has been getting slowly worse for a couple of weeks.",
    ],
    [
        "We are home most afternoons this week.",
        "My number is 555-0147 and I am free after {time}.",
        "The address is 22 Elm Street, round the back.",
        "Any morning works for us.",
        "It is getting urgent.",
        "",
    ],
)
# Thanks and updates (other): long, past tense, nothing asked, nobody let down.
_THANKS = [
    "Just a note to say thank you for the {svc} on {day}.",
    "Your {staff} was on time, friendly and explained everything as they went.",
    "The {place} looks better than it has in years.",
    "We have already recommended you to two of our neighbours.",
    "Everything has worked perfectly since the visit.",
    "Quick update from our side: the {product} arrived and is working well.",
    "The inspector came by on {day} and everything passed.",
    "I left the paperwork at the {place} for your office to collect whenever it suits.",
    "We are really pleased with how it all turned out.",
    "Pass our thanks on to the whole team.",
    "My wife says it is the best money we have spent on the house.",
]


def pick(pool: list[str], used: set[str], rng: random.Random) -> str:
    """A sentence of the pool not yet in this letter (any, once all are)."""
    choice = rng.choice([s for s in pool if s not in used] or pool)
    used.add(choice)
    return choice


def keep(rows: list[dict[str, str]], seen: set[str], text: str, label: str, domain: str) -> None:
    """Add a composed letter as a training row unless the same text is already there."""
    if text.lower() not in seen:
        seen.add(text.lower())
        rows.append({"text": text, "label": label, "domain": domain})


def context_then_ask(
    pools: dict[str, tuple[list[str], list[str]]],
    each: int,
    rows: list[dict[str, str]],
    add: Callable[[list[str], str], None],
    rng: random.Random,
) -> None:
    """`each` letters per label: two or three sentences of context, then what they ask or tell."""
    for label, (context, asks) in pools.items():
        target = len(rows) + each
        while len(rows) < target:
            used: set[str] = set()
            parts = [pick(context, used, rng) for _ in range(rng.choice((2, 3)))]
            add([*parts, rng.choice(asks)], label)


def letters(
    complaints: int = 220, each_other: int = 40, needs: int = 40, thanks: int = 30, seed: int = 1605
) -> list[dict[str, str]]:
    """Composed letters as training rows {"text", "label", "domain"}, deterministic for a seed."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(parts: list[str], label: str, domains: tuple[str, ...] = tuple(DOMAINS)) -> None:
        domain = rng.choice(domains)
        text = " ".join(p for p in parts if p).replace("{month}", rng.choice(MONTHS))
        keep(rows, seen, noisy(fill(text, domain, rng), rng), label, domain)

    while len(rows) < complaints:
        used: set[str] = set()
        parts = [pick(_OPEN, used, rng)]
        parts += [pick(_WRONG, used, rng) for _ in range(rng.choice((1, 2, 2, 3)))]
        parts += [pick(_CHASE, used, rng) for _ in range(rng.choice((0, 1, 1, 2)))]
        parts += [pick(_OUTCOME, used, rng), rng.choice(_CLOSE)]
        add(parts, "complaint")
    context_then_ask(_LONG_OTHER, each_other, rows, add, rng)
    symptoms, details, closes = _NEED
    target = len(rows) + needs
    while len(rows) < target:
        used = set()
        parts = [pick(symptoms, used, rng) for _ in range(rng.choice((1, 2)))]
        parts += [pick(details, used, rng) for _ in range(rng.choice((1, 2)))]
        add([*parts, rng.choice(closes)], "sales_inquiry", ("home", "auto"))  # where things break
    target = len(rows) + thanks
    while len(rows) < target:
        used = set()
        add([pick(_THANKS, used, rng) for _ in range(rng.choice((3, 4)))], "other")
    return rows
