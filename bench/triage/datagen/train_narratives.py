"""Narrative letters for training: complaints told the way people write to a company's office, and
long letters with the same account and billing words that are not complaints.

Why (seventh round of issue 16): `train_letters.py` composes its complaints from a few dozen
sentences in one shape (what we did, what went wrong, I called, nobody answered), so the model
learnt those sentences more than the thing they share. Real letters of complaint vary the shape (a
formal opening, a timeline with dates, a representative who promised something, a letter that was
"never received", what it has cost them) and are often about the paperwork around the work:
financing, deposits, payment plans, warranty and insurance claims, collections, memberships,
credit checks. Small businesses that finance an install or run memberships hear these too. So do
letters that are not complaints, which is why the same account and billing words are composed
into enquiries, status questions, routine questions and updates here as well: the words must not
decide, the story of being wronged must.

Written for this project: slot grammars composed with a fixed seed, in the trades of
`common.DOMAINS`. No sentence is taken from an evaluation source.
"""

from __future__ import annotations

import random
import re

from bench.triage.datagen.common import DOMAINS, fill, noisy
from bench.triage.datagen.train_letters import context_then_ask, keep, pick

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_SLOTS: dict[str, list[str]] = {
    "actor": [
        "your office",
        "your billing department",
        "your company",
        "the company",
        "your manager",
        "your {staff}",
        "customer service",
        "the owner",
        "your front desk",
        "the financing company you use",
        "the lender you sent me to",
        "your accounts team",
        "the collection agency you hired",
        "a representative",
        "the supervisor",
        "your warranty department",
    ],
    "date": ["{month} {dn}", "{dn} {month}", "{mm}/{dd}/{yy}", "{mm}/{dd}", "the {nth} of {month}"],
    "span": [
        "two weeks",
        "three weeks",
        "a month",
        "six weeks",
        "two months",
        "three months",
        "almost a year",
        "over four months",
        "90 days",
        "ten days",
    ],
    "count": ["three", "four", "five", "six", "several", "at least seven", "a dozen", "multiple"],
    "finance": [
        "payment plan",
        "financing agreement",
        "loan",
        "membership",
        "service contract",
        "maintenance plan",
        "account",
        "deposit",
        "warranty",
        "installment plan",
        "credit account",
    ],
    "doc": [
        "receipts",
        "bank statements",
        "the signed contract",
        "the cancelled check",
        "the invoice",
        "the confirmation e-mail",
        "photos of the work",
        "the warranty card",
        "proof of payment",
    ],
    "year": ["2017", "2018", "2019", "2020", "2021", "2022", "2023"],
}

_OPEN = [
    "I am writing to make a complaint about how my {finance} with {actor} has been handled.",
    "To whom it may concern, I have been a customer since {year} and I have never had to write a letter like this.",
    "I want to bring to your attention what happened with the {svc} we paid for.",
    "In {year} I signed a {finance} through your office to pay for a {svc}.",
    "On {date} {actor} came out to our {place} for a {svc}.",
    "I financed the {product} through your company in {month} with the promise of no interest for a year.",
    "My husband and I signed a contract with your company on {date} for a {svc}.",
    "I received a letter dated {date} from {actor} saying I owe {amt}.",
    "When I checked my credit report in {month} I found an account from your company listed as past due.",
    "This concerns the {finance} I opened with you on {date}.",
    "We paid a deposit of {amt} on {date} for a {svc} at our {place}.",
    "I have had a {finance} with your business for {span} and always paid on time.",
    "Last {month} I was told by {actor} that my {finance} was paid in full.",
    "I am a long time customer and I am writing because I do not know where else to turn.",
    "On {date} I paid {amt} by check for the {svc}.",
    "I bought a {product} from you in {year} with a five year warranty.",
    "I am writing on behalf of my elderly mother, who has been a client of yours for years.",
    "We hired your firm in {month} after getting three quotes.",
    "I have tried to sort this out on the phone and I am now putting it in writing.",
    "My {finance} was transferred to a new company in {month} without any explanation.",
    "I paid my final invoice to {actor} on {date}.",
]
_WRONGED = [
    "{Actor} reported the account as late to the credit bureaus even though every payment was made on time.",
    "I was charged interest on the full balance although the plan was supposed to be interest free.",
    "{Actor} now says I owe {amt} more than the contract states.",
    "They ran a credit check on me without asking, and it lowered my score.",
    "A collection agency started calling me about an invoice I had paid on {date}.",
    "The warranty claim was denied because the unit was never registered, yet your office said it would register it.",
    "The claim was sent to my insurance with the wrong code, so it was rejected.",
    "{Actor} kept my deposit of {amt} even though it was your side that cancelled the job.",
    "The terms of my {finance} were changed without any notice to me.",
    "The automatic payment was taken twice in the same month.",
    "My {finance} was closed without warning and the balance was kept.",
    "I was billed for parts that were covered by the warranty.",
    "{Actor} told me the fee would be waived, and it was not.",
    "The price on the bill is not the price I was quoted on the phone.",
    "My payment was applied to the wrong month and then a late fee was added.",
    "The report says the work was done, which is simply not true.",
    "The documents I sent were lost twice.",
    "{Actor} claims they never received my letter although I have the certified mail receipt.",
    "My information was passed to a third party without my consent.",
    "I was pressured into signing up for a {finance} I did not want.",
    "Nobody told me about the cancellation fee until after I had signed.",
    "My {finance} shows a balance of {amt} that I do not owe.",
    "{Actor} promised the {svc} would be finished in a week and it took two months.",
    "The account was sent to collections while I was still disputing the bill.",
    "They will not give me a copy of the contract I signed.",
    "The balance keeps going up every month even though I pay what they ask.",
    "They took {amt} from my bank account without authorisation.",
    "The {product} failed within a month and they say the warranty does not cover it.",
    "My name was added to an account I never opened.",
    "They cashed my check and then said the payment was never made.",
    "The {staff} who came out had not been told what the job was and left after ten minutes.",
    "Half of the work on the quote was never started, but the invoice is for all of it.",
    "I was sold a {product} that was the wrong size for our {place}, and now they will not take it back.",
    "The {staff} left the {place} in a mess and one of our windows was cracked.",
    "My appointment was cancelled the night before for the third time.",
    "They signed me up for automatic renewal without telling me.",
    "The discount I was promised in writing was not applied.",
    "{Actor} gave my details to a finance company I had never heard of.",
    "Every statement shows a different balance.",
    "The rebate form your office was supposed to send in was never sent, so I lost the rebate.",
    "I was told the inspection passed, and later found out it was never done.",
    "They added a processing fee to every payment without any notice.",
]
_CONTACTED = [
    "I called {actor} on {date} and was told it would be fixed within a week.",
    "I have spoken with {count} different people about this.",
    "I sent a certified letter on {date} with copies of {doc}.",
    "I asked to speak with a supervisor and was left on hold for an hour.",
    "{Actor} promised to call me back within 48 hours.",
    "I provided {doc} and {doc2} as proof.",
    "I filed a dispute online on {date}.",
    "I e-mailed {actor} {count} times over {span}.",
    "I went to the {place} in person with {doc}.",
    "I was transferred from one department to another and back again.",
]
_ANSWER = [
    "They keep saying there is nothing they can do.",
    "{Actor} insists the account is correct.",
    "The only reply was a form letter that did not answer a single point.",
    "{Actor} told me to contact the lender, and the lender told me to contact you.",
    "It is still not resolved.",
    "Instead they sent another bill with more late fees on it.",
    "I was told it would take 30 days, and it has now been {span}.",
    "Nobody ever called back.",
    "Each time I am given a different answer.",
    "They said they would look into it and I have heard nothing since {date}.",
    "The problem has not been corrected.",
]
_COST = [
    "This has damaged my credit and I was turned down for a car loan because of it.",
    "I have lost hours off work dealing with this.",
    "We had to pay another company to redo the work.",
    "This has caused my family a great deal of stress.",
    "I am now paying more every month than I agreed to.",
    "",
    "",
]
_END = [
    "I would like this corrected and the late marks removed from my report.",
    "I feel I have been treated unfairly.",
    "This is not how anyone should treat a customer.",
    "I expect a written explanation.",
    "Please look into this properly.",
    "I am considering reporting this to the consumer protection office.",
    "",
    "",
]

# The same words in letters that are not complaints: the context, then what they ask or tell.
_CALM: dict[str, tuple[list[str], list[str]]] = {
    "sales_inquiry": (
        [
            "We are thinking of replacing our {product} this year.",
            "Our credit is good and we could put {amt} down.",
            "A neighbour told us you offer a {finance} for bigger jobs.",
            "We paid off our last loan in {year} and would rather spread the cost again.",
            "The house is about twenty years old and has the original {product}.",
        ],
        [
            "Do you offer financing, and could someone come out and give us a quote for a {svc}?",
            "We would like a price for a {svc} with monthly payments if that is possible.",
            "Please let us know what a {svc} would cost and what the {finance} terms are.",
            "Could you send someone to look at a {svc} and talk us through the payment options?",
        ],
    ),
    "status_inquiry": (
        [
            "I applied for a {finance} through your office on {date} for the {svc}.",
            "I sent {doc} to {actor} on {date} as your {staff} asked.",
            "Your {staff} said the warranty claim for our {product} had been sent in.",
            "We signed the paperwork for the {svc} in {month}.",
        ],
        [
            "Could you let me know where the application stands?",
            "Is there any news on the claim?",
            "Do you know when we will hear back?",
            "Can you tell me when the work can be scheduled now?",
        ],
    ),
    "other": (
        [
            "Just letting you know the check for the {svc} went out on {date}.",
            "The financing came through on {date} and everything is signed.",
            "Your {staff} sorted out the warranty registration for us on {day}.",
            "The insurance paid the claim in full last week.",
            "We made the last payment on the {finance} this month.",
        ],
        [
            "Thanks again for all your help with the paperwork.",
            "Nothing else needed from us for now.",
            "We will be in touch when we are ready for the next job.",
            "It has been a pleasure doing business with you.",
        ],
    ),
}


def _slot(text: str, rng: random.Random) -> str:
    """Fill this module's slots (fill() does the trade's own), each occurrence drawn independently."""
    for _ in range(3):  # slots inside slots: {actor} → "your {staff}", {date} → "{month} {dn}"
        for name, pool in _SLOTS.items():
            while "{" + name + "}" in text:
                text = text.replace("{" + name + "}", rng.choice(pool), 1)
            cap = "{" + name.capitalize() + "}"
            while cap in text:
                choice = rng.choice(pool)
                text = text.replace(cap, choice[0].upper() + choice[1:], 1)
        text = text.replace("{doc2}", rng.choice(_SLOTS["doc"]))
    text = text.replace("{month}", rng.choice(_MONTHS))
    text = text.replace("{dn}", str(rng.randint(1, 28))).replace("{nth}", rng.choice(["3rd", "12th", "21st"]))
    text = text.replace("{mm}", f"{rng.randint(1, 12):02d}").replace("{dd}", f"{rng.randint(1, 28):02d}")
    return text.replace("{yy}", rng.choice(["2021", "2022", "2023", "23"]))


_AN = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")


def narratives(complaints: int = 240, each_calm: int = 15, seed: int = 1607) -> list[dict[str, str]]:
    """Composed letters as training rows {"text", "label", "domain"}, deterministic for a seed."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(parts: list[str], label: str) -> None:
        domain = rng.choice(list(DOMAINS))
        text = fill(_slot(" ".join(p for p in parts if p), rng), domain, rng)
        text = noisy(_AN.sub(lambda m: m.group(1) + "n ", text), rng)  # "a account" → "an account"
        keep(rows, seen, text, label, domain)

    while len(rows) < complaints:
        used: set[str] = set()
        parts = [pick(_OPEN, used, rng)]
        parts += [pick(_WRONGED, used, rng) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        # Not every letter chases or says what it cost: the story of being wronged is what they share.
        parts += [pick(_CONTACTED, used, rng) for _ in range(rng.choice((0, 1, 1, 2)))]
        parts += [pick(_ANSWER, used, rng) for _ in range(rng.choice((0, 1, 1)))]
        parts += [rng.choice(_COST), rng.choice(_END)]
        add(parts, "complaint")
    context_then_ask(_CALM, each_calm, rows, add, rng)
    return rows
