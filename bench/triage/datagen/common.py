"""Slot fillers and noise shared by the training and evaluation generators.

The templates (the sentences) live in train_templates.py and eval_templates.py and are
disjoint; only the vocabulary of each business domain (what a shop sells, what a clinic books)
is shared, because a real business's customers use the same nouns whatever the phrasing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

DOMAINS: dict[str, dict[str, list[str]]] = {
    "home": {
        "svc": [
            "heat pump install",
            "AC repair",
            "furnace tune-up",
            "duct cleaning",
            "water heater replacement",
            "leaky faucet",
            "roof repair",
            "gutter cleaning",
            "deep clean",
            "move-out clean",
            "lawn mowing",
            "fence repair",
            "boiler service",
            "mini split",
            "drain unclogging",
            "new roof",
            "bathroom remodel",
            "window cleaning",
            "pest control",
            "electrical panel upgrade",
        ],
        "thing": ["appointment", "visit", "quote", "estimate", "repair", "technician", "install", "invoice"],
        "staff": [
            "technician",
            "tech",
            "plumber",
            "crew",
            "installer",
            "cleaner",
            "electrician",
            "guy you sent",
        ],
        "product": ["thermostat", "filter", "water heater", "unit", "fence", "carpet", "gutters"],
        "place": ["house", "condo", "apartment", "basement", "kitchen", "office"],
    },
    "retail": {
        "svc": [
            "running shoes",
            "gift cards",
            "wool sweaters",
            "standing desk",
            "coffee grinder",
            "kids bikes",
            "custom t-shirts",
            "phone cases",
            "wedding rings",
            "sofa",
            "yoga mats",
            "espresso machine",
        ],
        "thing": ["order", "package", "parcel", "delivery", "shipment", "return", "exchange", "preorder"],
        "staff": ["driver", "courier", "cashier", "sales assistant", "store clerk", "support agent"],
        "product": ["jacket", "sneakers", "lamp", "blender", "backpack", "headphones", "dress", "mug set"],
        "place": ["store", "shop", "warehouse", "pickup point"],
    },
    "finance": {
        "svc": [
            "mortgage",
            "personal loan",
            "savings account",
            "business account",
            "credit card",
            "tax return prep",
            "bookkeeping",
            "retirement planning",
            "car loan",
            "checking account",
        ],
        "thing": [
            "card",
            "transfer",
            "loan application",
            "wire",
            "statement",
            "replacement card",
            "payment",
            "direct deposit",
        ],
        "staff": ["advisor", "banker", "teller", "accountant", "loan officer", "agent"],
        "product": ["debit card", "credit card", "account", "checkbook", "PIN"],
        "place": ["branch", "office"],
    },
    "clinic": {
        "svc": [
            "teeth cleaning",
            "physio session",
            "eye exam",
            "vaccination",
            "checkup",
            "massage",
            "dental implant",
            "braces consult",
            "skin check",
            "vet checkup",
            "blood test",
            "x-ray",
        ],
        "thing": ["appointment", "test results", "prescription", "referral", "lab results", "bill", "claim"],
        "staff": ["dentist", "doctor", "nurse", "receptionist", "hygienist", "vet", "therapist"],
        "product": ["crown", "filling", "glasses", "retainer", "contacts"],
        "place": ["clinic", "practice", "office"],
    },
    "auto": {
        "svc": [
            "oil change",
            "brake job",
            "tire rotation",
            "inspection",
            "transmission repair",
            "detailing",
            "windshield replacement",
            "alignment",
        ],
        "thing": ["car", "repair", "appointment", "quote", "part", "invoice"],
        "staff": ["mechanic", "service advisor", "tech"],
        "product": ["brakes", "tires", "battery", "windshield"],
        "place": ["garage", "shop"],
    },
    "salon": {
        "svc": [
            "haircut",
            "balayage",
            "manicure",
            "beard trim",
            "bridal makeup",
            "lash extensions",
            "facial",
        ],
        "thing": ["appointment", "booking", "gift voucher", "order"],
        "staff": ["stylist", "barber", "receptionist", "nail tech"],
        "product": ["shampoo", "gift voucher", "hair color"],
        "place": ["salon", "studio"],
    },
}

NAMES = [
    "Sam",
    "Priya",
    "Tom",
    "Maria",
    "Jake",
    "Aisha",
    "Li",
    "Carlos",
    "Emma",
    "Noah",
    "Olga",
    "Yusuf",
    "Grace",
    "Ben",
    "Fatima",
    "Luca",
    "Hana",
    "Diego",
    "Chloe",
    "Raj",
    "Kim",
    "Pete",
    "Zoe",
    "Ana",
]
COMPANIES = [
    "Acme Corp",
    "Riverside Apartments",
    "Blue Fox Cafe",
    "Hartley & Sons",
    "Nimbus LLC",
    "Green Leaf Dental",
    "Oak Street Property Mgmt",
    "Pixel Labs",
]
DAYS = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "tomorrow",
    "next week",
    "the 16th",
    "March 3",
    "this weekend",
    "next Tuesday",
    "today",
    "Friday morning",
    "the 2nd",
]
TIMES = ["10am", "2pm", "9:30", "noon", "4:15pm", "8 am", "3", "after 5", "11:00"]
AMOUNTS = [
    "$120",
    "$45.50",
    "€45,50",
    "£60",
    "$1,200",
    "120 dollars",
    "a hundred bucks",
    "$89",
    "$350",
    "€200",
    "$19.99",
    "75 euros",
    "$2,400",
    "$15",
    "£12.50",
    "fifty dollars",
]
REFS = [
    "#A1234",
    "#55821",
    "order 99812",
    "BK-2291",
    "ref 7781-X",
    "#1002934",
    "INV-4410",
    "case 33120",
    "#ZX-901",
    "order no. 4471",
    "#8823",
]
COMPETITORS = ["Ace Heating", "CoolAir", "Bright Smile", "QuickFix", "Amazon", "Chase", "SuperCuts"]
EMOJI = ["🙂", "🙏", "😡", "😤", "👍", "😊", "🤔", "❤️", "😭", "🔥", "!!", "?!"]
GREETINGS = [
    "Hi",
    "Hello",
    "Hey",
    "Hi there",
    "Good morning",
    "Hey guys",
    "Hello team",
    "Dear sir/madam",
    "Yo",
]
SIGNOFFS = ["Thanks", "Thank you", "Cheers", "Regards", "Thx", "Best", "ty"]


def fill(template: str, domain: str, rng: random.Random) -> str:
    """Fill {slots} from the domain's vocabulary; each occurrence drawn independently."""
    vocab = DOMAINS[domain]
    pools: dict[str, list[str]] = {
        **vocab,
        "name": NAMES,
        "company": COMPANIES,
        "day": DAYS,
        "time": TIMES,
        "amt": AMOUNTS,
        "ref": REFS,
        "competitor": COMPETITORS,
    }

    def pick(m: re.Match[str]) -> str:
        return rng.choice(pools[m.group(1)])

    return re.sub(r"\{(\w+)\}", pick, template)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3 and w.isalpha():
        j = rng.randrange(1, len(w) - 1)
        op = rng.random()
        if op < 0.4:
            w = w[:j] + w[j + 1 :]
        elif op < 0.8:
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


NOISERS: list[tuple[float, Callable[[str, random.Random], str]]] = [
    (0.25, lambda t, r: t.lower()),
    (0.15, lambda t, r: t.rstrip(".!?")),
    (0.3, _typo),
    (0.1, _typo),
    (0.15, lambda t, r: t + " " + r.choice(EMOJI)),
    (0.2, lambda t, r: f"{r.choice(GREETINGS)}, {t[0].lower() + t[1:] if r.random() < 0.5 else t}"),
    (0.12, lambda t, r: f"{t} {r.choice(SIGNOFFS)}, {r.choice(NAMES)}"),
    (0.04, lambda t, r: t.upper()),
]


def noisy(text: str, rng: random.Random) -> str:
    """Casing, typos, emoji, greetings and sign-offs, as real customers write."""
    for p, f in NOISERS:
        if rng.random() < p:
            text = f(text, rng)
    return re.sub(r"\s+", " ", text).strip()


def generate(
    templates: dict[str, list[tuple[str, str]]], per_category: int, seed: int, exclude: set[str] | None = None
) -> list[dict[str, str]]:
    """Draw per_category messages per category; templates are (domains, text) with domains like 'home retail' or '*'."""
    rng = random.Random(seed)
    exclude = exclude or set()
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for cat, items in templates.items():
        made = 0
        tries = 0
        while made < per_category and tries < per_category * 30:
            tries += 1
            doms, tpl = items[made % len(items)] if tries <= len(items) else rng.choice(items)
            allowed = list(DOMAINS) if doms == "*" else doms.split()
            domain = rng.choice(allowed)
            text = noisy(fill(tpl, domain, rng), rng)
            key = text.lower()
            if key in seen or key in exclude:
                continue
            seen.add(key)
            rows.append({"text": text, "label": cat, "domain": domain})
            made += 1
    rng.shuffle(rows)
    return rows


def parse_templates(raw: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Template blocks ("domains|text" a line, or just "text" for every domain) into
    (domains, text) pairs per category; blank lines are spacing."""
    out: dict[str, list[tuple[str, str]]] = {}
    for cat, block in raw.items():
        items = []
        for line in block.strip().splitlines():
            if not line.strip():
                continue
            doms, _, text = line.rpartition("|") if "|" in line else ("*", "", line)
            items.append((doms or "*", text.strip()))
        out[cat] = items
    return out
