"""Rules for what must never be missed, applied on top of the classifier.

The classifier is good on average; these patterns make the expensive mistakes rare: an opt-out
answered with a sales pitch, money back read as a complaint, anger read as chit-chat, or a message
that tries to instruct the assistant. Each rule returns a category override or a signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from sheepdog.domain.models import Category, Signal, SignalName

_I = re.IGNORECASE

OPT_OUT_WHOLE = {
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "unsub",
    "end",
    "quit",
    "optout",
    "opt out",
    "opt-out",
    "revoke",
    "stop please",
    "please stop",
    "stop it",
    "stop now",
    "remove",
    "remove me",
    "stop texting",
    "no more",
    "no more please",
    "please no more",
    "no more thanks",
}
OPT_OUT_KEYWORDS = {"stop", "stopall", "unsubscribe", "unsub", "optout", "quit", "end"}
OPT_OUT_FILLER = {
    "please",
    "pls",
    "plz",
    "now",
    "it",
    "thanks",
    "thank",
    "you",
    "ok",
    "okay",
    "just",
    "all",
    "me",
    "already",
    "again",
    "i",
    "said",
    "asap",
    "out",
    "opt",
    "the",
    "texts",
    "messages",
}
_CONTACT_VERB = r"(?:text(?:ing|s)?|txt(?:ing|s)?|msg(?:ing|s)?|ms?ging|messag(?:e|ing|es)|e-?mail(?:ing|s)?|contact(?:ing)?|call(?:ing)?|send(?:ing)?|spam(?:ming)?|sms|writing|bother(?:ing)?|reach(?:ing)? out)"
# After "remove me from": the calendar, not a list ("the schedule", "Friday's appointments").
_CALENDAR = (
    r"\s+(?:the\s+|your\s+|my\s+|this\s+)?(?:\w+\s+)?(?:schedule|calendar|bookings?|appointments?|route|rota|"
    r"roster|wait\s?list|class(?:es)?|lessons?|group|team|jobs?|orders?|program(?:me)?|plan|rotation)\b"
)
# Asking off the calendar is cancelling: "remove me from the schedule", "take us off the route".
_OFF_THE_CALENDAR = rf"\b(?:take|remove|drop)\s+(?:me|us)\s+(?:off|from)(?={_CALENDAR})"
OPT_OUT_PATTERNS = [
    re.compile(rf"\bstop\s+(?:\w+\s+){{0,2}}{_CONTACT_VERB}", _I),
    re.compile(r"\bunsubscri\w*|\bunsub\b|\bopt(?:[\s-]?out|ing out)\b", _I),
    re.compile(
        # off a list, not off the calendar: "remove me from the schedule" cancels visits
        rf"\b(?:take|remove|delete|drop)\s+(?:me|my\s+(?:number|email|e-mail|phone|details|address))\s+"
        rf"(?:off|from)\b(?!{_CALENDAR})",
        _I,
    ),
    re.compile(
        rf"\b(?:take|remove|delete)\s+(?:me|(?:my|this)\s+(?:number|email|phone|details))\b(?!\s+(?:to|for|out|back))"
        rf"(?!\s+(?:off|from)\b{_CALENDAR})",
        _I,
    ),
    re.compile(
        rf"\b(?:do\s*n[o']?t|never|please don'?t|dont)\s+(?:\w+\s+)?{_CONTACT_VERB}\s+(?:me|us|this number)",
        _I,
    ),
    re.compile(rf"\b(?:do\s*n[o']?t|dont)\s+(?:\w+\s+)?{_CONTACT_VERB}\s+(?:\w+\s+){{0,2}}again\b", _I),
    re.compile(
        r"\b(?:stop|cancel|end|turn off|switch off|disable)\s+(?:all\s+)?(?:these|the|your|this|those|my|ur)\s+"
        r"(?:\w+\s+)?(?:texts|messages|emails|e-mails|follow[\s-]?ups|promotions|reminders|sms|notifications|"
        r"alerts|newsletters?|mailings?|marketing|text alerts|offers|updates)\b",
        _I,
    ),
    re.compile(
        r"\bstop\s+(?:with\s+)?(?:all\s+)?(?:the|these|those|your|this)?\s*(?:\w+\s+)?(?:texts|messages|emails|"
        r"e-mails|calls|marketing|promotions|spam|newsletters?|offers|adverts|ads)\b",
        _I,
    ),
    re.compile(r"\bleave me alone\b|\bquit (?:sending|texting|messaging|emailing)", _I),
    re.compile(
        r"\b(?:do\s*n[o']?t|dont|no longer)\s+want\s+(?:any\s*more|anymore|your|ur|these|those|the|any|to (?:get|receive))\s+"
        r"(?:\w+\s+)?(?:texts|messages|emails|e-mails|calls|sms|promotions|marketing|reminders)\b",
        _I,
    ),
    re.compile(r"\b(?:do\s*n[o']?t|dont|never)\s+want\s+to\s+hear\s+from\s+(?:you|u)\b", _I),
    re.compile(r"\bopt\s+(?:me|us)\s+out\b|\blose my number\b", _I),
    re.compile(
        r"\benough (?:with |of )?(?:the |your |ur |these |all the |all your )?(?:texts|messages|emails|calls|spam)\b",
        _I,
    ),
    re.compile(
        r"\boff (?:this|your|ur) (?:\w+ )?list\b|\boff the (?:mailing|contact|text|sms|e-?mail|marketing|call) list\b|\bcease\b.{0,20}\b(?:communication|contact|messag|text|e-?mail)",
        _I,
    ),
    re.compile(
        r"\bnot (?:to )?be (?:contacted|texted|called|e-?mailed|messaged)\b|"
        r"\b(?:no longer|not|don'?t|do not) wish to (?:be contacted|receive|hear from|get)\b",
        _I,
    ),
    # "Opted out" told, then contact that went on: "I opted out in May and you keep texting me" (not "I
    # opted out of text reminders and missed my appointment").
    re.compile(r"\bopted[\s-]?out\b.{0,80}?\b(?:still|again|keep|keeps|kept|continu\w*|anyway)\b", _I | re.S),
    re.compile(r"^\W*opted[\s-]?out\W*(?:thanks?|thank you|ty)?\W*$", _I),
    # '..., stop' / '... last warning. STOP': a message that ends in a bare stop after a pause.
    re.compile(r"[.,!;:?]\s*(?:please\s+|pls\s+|just\s+)?stop(?:\s+(?:now|please|pls|already))?\W*$", _I),
    # A reply to our outreach saying it reached the wrong person: 'wrong number', 'you have the wrong person'.
    re.compile(
        r"^\W*(?:hi,?\s*|um+,?\s*)?wrong (?:number|person)\b(?!.{0,12}\b(?:sor+y|sory|soorry|oops|my bad)\b)|"
        r"\b(?:you(?:'ve| have)|u have|you got|you've got|this is (?:a|the)) (?:got )?(?:the |a )?wrong (?:number|person)\b",
        _I,
    ),
    re.compile(r"\b(?:remove|take)\b.{0,20}\b(?:list|mailing|database|system)\b", _I),
    # A stop asked for before and ignored, told as a story: "I sent a cease and desist letter",
    # "I told them not to contact me at work", "they call even though I asked them to stop".
    re.compile(
        r"\bcease\s*(?:-|and|&)\s*desist\b|"
        rf"\b(?:told|asked|requested|instructed|begged|warned)\s+(?:them|you|him|her|your\s+\w+)\s+"
        rf"(?:not|never)\s+to\s+(?:\w+\s+)?{_CONTACT_VERB}"
        # "told them not to call before 9" sets a time, it does not stop contact
        r"(?!\s+(?:(?:me|us)\s+)?(?:before|after|until|till|between|during|early|late|so early|so late|"
        r"in the (?:morning|evening)|on (?:weekends|sundays|saturdays))\b)|"
        r"\b(?:told|asked|requested|instructed|begged)\s+(?:them|you|him|her|your\s+\w+)\s+(?:several times\s+|"
        r"repeatedly\s+|many times\s+)?to\s+stop\b(?=\s*(?:[.,;!?]|$|(?:but|and|yet|so)\b))",
        _I,
    ),
]

REFUND_PATTERNS = [
    re.compile(r"\brefund(?:ed|s)?\b", _I),
    re.compile(r"\bmoney\s+(?:back|returned|refunded)\b", _I),
    re.compile(r"\breimburs\w*", _I),
    # Goods sent back, then money: "I mailed it back on the 3rd, please credit my card".
    re.compile(
        r"\b(?:sent|mailed|posted|returned|brought|took|shipped)\s+(?:it|them)\s+back\b.{0,120}?"
        r"\b(?:credit\w*|refund\w*|money|amount|[$£€]\s?\d)",
        _I | re.S,
    ),
    # "I want it back", not the paperwork "I sent it back" or the car "they brought it back"
    re.compile(
        r"\b(?:deposit|money|payment|fee|charge|(?<![\w.,])\$?\d{1,7}(?:[.,]\d{1,3})*|"
        r"(?<!sent )(?<!mailed )(?<!posted )(?<!faxed )(?<!emailed )(?<!e-mailed )(?<!brought )(?<!took )it|"
        r"difference)\s+(?:back|returned)\b",
        _I,
    ),
    # "pay me back", "put the $80 back on my card", "give us our deposit back" (money is what
    # comes back: "put the furniture back" is not a refund)
    re.compile(
        r"\b(?:give|send|pay|put|credit)\s+(?:me|us)\s+back\b|\b(?:give|send|pay|put|credit)\s+"
        r"(?:(?:me|us|my|our|the|this|that|a|full)\s+){0,2}(?:money|cash|deposit|payment|amount|fee|charges?|"
        r"difference|funds|balance|it|that|[$£€]\s?\d[\d.,]*)\s+(?:\w+\s+){0,2}back\b",
        _I,
    ),
    re.compile(r"\b(?:reverse|refund|undo)\s+(?:the|that|this)?\s*(?:charge|payment|transaction|fee)\b", _I),
    re.compile(r"\bcharge\s?back\b", _I),
    re.compile(r"\b(?:i'?m|i am|we'?re|we are)\s+owed\b|\bowes? (?:me|us)\b", _I),
    re.compile(r"\b(?:some|my|the|our)\s+money\s+b[ac]{1,2}k\b", _I),
]
REFUND_NOT_REQUEST = [
    re.compile(r"\b(?:any|an)\s+(?:news|update|word|progress)\b.{0,30}\brefund", _I),
    re.compile(
        r"\b(?:where|when)\b.{0,30}\brefund\b|\brefund\b.{0,25}\b(?:processed|arrive|yet|status)\b", _I
    ),
    re.compile(r"\b(?:has|did|was)\s+my\s+refund\b", _I),
    # Chasing money back already agreed is a status inquiry (TRIAGE.md: "Any news on my refund?"),
    # whatever the word for it: refund, reimbursement, money back.
    re.compile(
        r"\b(?:where|when)\b.{0,30}\b(?:reimburs\w*|money back)|"
        r"\bhow (?:long|many days)\b.{0,30}\b(?:refund\w*|reimburs\w*|money back)|"
        r"\b(?:still|been)\s+waiting\b.{0,40}\b(?:refund\w*|reimburs\w*|money)|"
        r"\b(?:asked|applied) for (?:a|the|my) refund\b.{0,40}\b(?:not|n't|never|yet|still)\b|"
        r"\b(?:have\s*n[o']?t|has\s*n[o']?t|did\s*n[o']?t|not|never|still no)\s+(?:yet\s+)?(?:got|gotten|received|seen|"
        r"arrived|showing|shown|come)\b.{0,25}\b(?:refund\w*|reimburs\w*|money)|"
        r"\b(?:refund\w*|reimburs\w*|money back)\b.{0,40}\b(?:not|n't|never)\s+(?:yet\s+)?(?:arrived|showing|shown|"
        r"come|received|there)\b|\bstill no (?:refund|reimburs\w*|money)",
        _I,
    ),
    re.compile(r"\brefund\s+polic\w*|\b(?:do|can)\s+you\s+(?:offer|give|do)\s+refunds\b", _I),
    re.compile(r"\bget\s+back\s+to\s+me\b", _I),
]

ANGER_WORDS = re.compile(
    r"\b(?:ridiculous|unacceptable|terrible|horrible|worst|awful|furious|angry|disgusting|disgusted|scam(?:mers?)?|"
    r"rip[\s-]?off|useless|incompetent|pathetic|joke|shocking|appalling|outrageous|fed up|sick of|lawyer|"
    r"attorney|sue you|bbb|better business bureau|1[\s-]?star|one[\s-]?star|bad review|never again|"
    r"third time|3rd time|nobody (?:answers|calls|called|gets back)|no one (?:answers|called|helps)|"
    r"wtf|damn|hell|crap|unbelievable|disappointed|unhappy|not happy|rude|harass\w*|avoid you)\b",
    _I,
)
POLITE = re.compile(r"\b(?:thanks|thank you|thx|ty|cheers|please|pls|appreciate|kind regards)\b", _I)
ANGER_EMOJI = re.compile("[😡😤🤬👎💢]")
URGENT = re.compile(
    r"\b(?:emergency|urgent(?:ly)?|asap|a\.s\.a\.p|right (?:now|away)|immediately|today|tonight|leak(?:ing|s)?|"
    r"flood(?:ed|ing)?|burst|no heat|no hot water|not cooling|no (?:ac|a/c|air)|gas smell|smell (?:of )?gas|"
    r"sparks?|smoke|freezing|broke(?:n)? down|won'?t start)\b",
    _I,
)
PRICE = re.compile(
    r"\b(?:how much|price[sd]?|pricing|cost(?:s|ing)?|quote|estimate|rates?|fees?|charges?|ballpark|"
    r"budget|afford|expensive|pricey|cheap(?:er)?|discount|deal|apr|interest rate)\b|[$€£]",
    _I,
)
HUMAN = re.compile(
    r"\b(?:real|actual|live)\s+(?:person|human|people)\b|\bspeak\s+(?:to|with)\b|\btalk\s+(?:to|with)\s+"
    r"(?:a|an|the|some|your)\b|\b(?:call|ring|phone)\s+me\b|\bcall\s?back\b|\b(?:manager|supervisor|owner)\b|"
    r"\bhuman\b|\bis this a bot\b|\bagent\b|\brepresentative\b|\bgive me a (?:call|ring)\b",
    _I,
)
COMPETITOR = re.compile(
    r"\b(?:another|other|different)\s+(?:company|companies|quotes?|provider|contractor|bank|shop|clinic|dentist)\b|"
    r"\bcompetitor\b|\bcheaper elsewhere\b|\bwent with (?:someone|another|a different)\b|\bswitch(?:ing)? from\b|"
    r"\bshopping around\b|\bquoted me\b",
    _I,
)
REFERRAL = re.compile(
    r"\b(?:(?:my\s+)?(neighbou?r|friend|colleague|sister|brother|mom|mum|dad|boss|coworker|cousin|"
    r"[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)\s+(?:recommended|referred|suggested|told me about|sent me to|said you)|"
    r"referred by\s+(?:my\s+)?([A-Za-z]+(?:\s[A-Z][a-z]+)?)|recommended by\s+(?:my\s+)?([A-Za-z]+))",
)
# Who did work for the customer: us. Not after "have" or "if" ("Have you installed mini splits in
# an old house?" is a prospect's question).
_OUR_PEOPLE = (
    r"(?:(?<!\bhave )(?<!\bhas )(?<!\bif )(?<!\bwhen )you|your (?:\w+ )?(?:team|guys?|techs?|technicians?|crew|"
    r"installers?|company|people|staff|cleaners?|plumbers?|electricians?|mechanics?|stylists?|dentists?|"
    r"groomers?|workers?|contractors?|man|salesman))"
)
_OUR_WORK_VERB = (
    r"(?:installed|replaced|serviced|repaired|fixed|fitted|cleaned|did|worked on|put in|delivered)"
)
# The customer says we did work for them: "your team installed our furnace", "the heat pump you put
# in", "serviced by your tech". Not "can you get it fixed": the verb must follow (an adverb aside).
OUR_WORK = re.compile(
    rf"\b{_OUR_PEOPLE}\s+(?:just |recently |already |originally |last \w+ )?{_OUR_WORK_VERB}\b|"
    rf"\b(?:installed|serviced|replaced|fitted|done|cleaned|fixed|put in|repaired) by {_OUR_PEOPLE}\b",
    _I,
)
RETURNING = re.compile(
    OUR_WORK.pattern + r"|\bexisting customer\b|\bused you (?:before|last)\b|"
    r"\breturning customer\b|\bbeen a customer\b|\blast time you\b|\bcustomer (?:of yours|since)\b",
    _I,
)
INJECTION = re.compile(
    r"\bignore\s+(?:\w+\s+){0,3}"
    r"(?:instructions|rules|prompt|guidelines|polic(?:y|ies)|programming)\b|\bsystem\s+prompt\b|"
    r"\bdisregard\b.{0,30}\b(?:instructions|rules|above|policy)\b|\b(?:you are|you're)\s+now\b|"
    r"\bas an ai\b|\b(?:dear|hey|hi)\s+(?:ai|bot|assistant|chatbot|gpt|claude)\b|\bnew instructions\b|"
    r"\bdeveloper mode\b|\bjailbreak\b|\bpretend (?:to be|you)\b|\b(?:assistant|system)\s*:|"
    r"\byou must (?:promise|agree|say|reply|respond|confirm|refund|approve)\b|\brespond with (?:exactly|only)\b|"
    r"\b(?:reply|answer|respond) (?:only )?(?:with|saying) ['\"]|\boverride\b|<\|\w+\|>|\[\s*system\s*\]|"
    r"\bforget (?:your|all|previous|the) (?:rules|instructions)\b|\b(?:your|the) (?:instructions|prompt) (?:say|are)\b|"
    r"\bwrite back (?:that|saying)\b|\bnew task\s*:|"
    r"\b(?:tell|give|send|show) me (?:the |your )?(?:admin |system |internal )?(?:password|api key|credentials)\b",
    _I,
)


RULE_WORDS = (
    "number",
    "messages",
    "message",
    "texts",
    "texting",
    "emails",
    "emailing",
    "contact",
    "contacting",
    "unsubscribe",
    "remove",
    "refund",
    "money",
    "cancel",
    "list",
    "more",
    "stop",
    "sending",
    "calling",
    "mailing",
    "deposit",
    "reimburse",
    "these",
    "anymore",
)


# Real words one letter away from a rule word: never 'repaired' ('massage' is not 'message').
REAL_WORDS = frozenset(
    {"massage", "passage", "messy", "monkey", "honey", "more", "mold", "list", "lost", "last"}
)


def fix_typos(text: str) -> str:
    """Repair misspellings of the few words the never-miss rules look for ('nubmer', 'moe', 'refnud')."""

    def repair(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if low in RULE_WORDS or low in REAL_WORDS or len(low) < 3:
            return word
        swaps = {low[:i] + low[i + 1] + low[i] + low[i + 2 :] for i in range(len(low) - 1)}
        for target in RULE_WORDS:
            if target in swaps:
                return target  # two neighbouring letters swapped: 'omre', 'nubmer'
            if target[0] != low[0] or abs(len(target) - len(low)) > 2:
                continue
            if target.startswith(low) or low.startswith(target[:-1]):
                return word  # an inflection ('email', 'texted'), not a typo
            floor = 0.85 if len(target) <= 4 else 0.8
            if SequenceMatcher(None, low, target).ratio() >= floor:
                return target
        return word

    return re.sub(r"[A-Za-z]+", repair, text)


def normalise_short(text: str) -> str:
    """Lower-case, letters and spaces only: what a carrier keyword check looks at."""
    return " ".join(re.sub(r"[^a-z\s-]", " ", text.lower()).split())


def _fuzzy_unsubscribe(text: str) -> bool:
    """'unsuscribe', 'usnub', 'unsubscibe': typos of the one word that must never be missed."""
    for word in re.findall(r"[a-z]{4,13}", text.lower()):
        if word[:2] not in ("un", "us", "nu"):
            continue
        target = "unsub" if len(word) <= 6 else "unsubscribe"
        if SequenceMatcher(None, word, target).ratio() >= 0.8:
            return True
    return False


_GREETING_WORDS = {
    "hello",
    "hi",
    "hey",
    "team",
    "guys",
    "there",
    "dear",
    "cheers",
    "regards",
    "thx",
    "best",
    "ty",
    "yo",
}
_NOT_STOP = {
    "spot",
    "step",
    "shop",
    "top",
    "stoop",
    "atop",
    "stow",
    "stops",
    "soap",
    "slop",
    "stoep",
    "post",
    "pots",
}


def _typo_stop_alone(short: str) -> bool:
    """'PLEASE SOP', 'hello team, tsop': a misspelt STOP with only courtesy words (and a name) around it."""
    words = short.replace("-", " ").split()
    if not 1 <= len(words) <= 7:
        return False
    stops = [
        w
        for w in words
        if 3 <= len(w) <= 5 and w not in _NOT_STOP and SequenceMatcher(None, w, "stop").ratio() >= 0.75
    ]
    if not stops:
        return False
    rest = [w for w in words if w not in stops and w not in OPT_OUT_FILLER | _GREETING_WORDS]
    return len(rest) <= 1  # at most a signature name


# What triage reads of a message (the whole message is stored): its first READ_CHARS characters,
# a run of digits longer than any amount, phone number or reference cut to 32. A 1 MB body, or a
# line of 16,000 digits, would otherwise cost the amount patterns seconds of quadratic scanning.
READ_CHARS = 16_384
_LONG_NUMBER = re.compile(r"[\d.,]{33,}")


def bounded(text: str) -> str:
    """The part of a message triage reads (see READ_CHARS)."""
    return _LONG_NUMBER.sub(lambda m: m.group(0)[:32], text[:READ_CHARS])


# A message that opens by shouting STOP, or "Stop!" / "Stop." on its own, before anything else.
_STOP_SHOUTED = re.compile(r"^\W*(?:STOP\b(?!\s+(?:by|in|over|at)\b)|(?i:stop)\s*(?:!+|\.(?!\w)))")


def is_opt_out(text: str) -> bool:
    """STOP, unsubscribe, 'take me off your list', 'don't contact me': never missed."""
    short = normalise_short(text)
    if short in OPT_OUT_WHOLE:
        return True
    words = set(short.replace("-", " ").split())
    if words & OPT_OUT_KEYWORDS and words <= OPT_OUT_KEYWORDS | OPT_OUT_FILLER:
        return True  # 'STOP STOP STOP', 'stop now please', 'unsubscribe thanks'
    if _typo_stop_alone(short):
        return True
    if _STOP_SHOUTED.match(text):
        return True  # "STOP!!! your texts about a gift card are fake": the first word says it

    text = OPT_OUT_INSTRUCTION.sub(" ", text)  # a bulk text's footer tells others how to stop
    text = without_plan_opt_outs(text)  # "opt out of the auto-renewal" stops no messages
    text = _CD_RECEIVED.sub(" ", text)  # "the HOA sent us a cease and desist about the noise"
    if WANTS_CONTACT.search(text):
        # "I unsubscribed by mistake, add me back": the past tense tells history, the ask is the
        # opposite. Only that word is set aside: "unsubscribe me" or "… but stop the texts" still
        # opts out.
        text = _UNSUBSCRIBE_WORD.sub(" ", text)
        return any(p.search(text) for p in OPT_OUT_PATTERNS)
    return any(p.search(text) for p in OPT_OUT_PATTERNS) or no_more_asked(text) or _fuzzy_unsubscribe(text)


# A cease and desist the writer received (from a neighbour, the HOA), not one they sent.
_CD_RECEIVED = re.compile(
    r"\b(?:sent|gave|served|mailed|issued)\s+(?:us|me)\s+(?:\w+\s+){0,2}?cease\s*(?:-|and|&)\s*desist\b|"
    r"\b(?:got|received|receiving|getting|get)\s+(?:a|an|the)\s+(?:\w+\s+){0,2}?cease\s*(?:-|and|&)\s*desist\b|"
    r"\bcease\s*(?:-|and|&)\s*desist(?:\s+letter)?\s+from\s+(?:my|our|the|a)\s+(?!company|collector|office)",
    _I,
)
# "No more texts" / "no further calls": asked, or told ("there were no further calls from your
# office", "no more calls, no emails, nothing for two weeks").
_NO_MORE = re.compile(
    r"\bno\s+(?:more|further)\s+(?:of\s+)?(?:the\s+|your\s+|these\s+|those\s+|ur\s+)?(?:\w+\s+)?(?:texts|messages|"
    r"e-?mails|calls|sms|spam|promo\w*|marketing|notifications|newsletters?|mailings|offers|specials|deals|coupons|"
    r"reminders|alerts|contact|communications?|correspondence|letters)\b",
    _I,
)
_NO_MORE_ASKED = re.compile(
    r"\b(?:please|pls|plz|kindly|want|wants|request\w*|ask(?:ed|ing)? for|would like|i'?d like|wish\w*|"
    r"demand\w*|insist\w*|i said|i told you|last warning)\b",
    _I,
)
_NO_MORE_TOLD = re.compile(
    r"\b(?:since|after|gotten|got|had|have had|received|heard|there (?:were|was|have been|has been)|nothing|"
    r"no show|no response|no reply|no word|no update|about (?:my|our|the))\b",
    _I,
)


def no_more_asked(text: str) -> bool:
    """Whether a "no more / no further" of messages is asked for: always with a request's words in
    its sentence, otherwise unless that sentence tells what happened ("since", "there were",
    "nothing")."""
    for m in _NO_MORE.finditer(text):
        start = max(text.rfind(c, 0, m.start()) for c in ".?!\n") + 1
        ends = [i for i in (text.find(c, m.end()) for c in ".?!\n") if i >= 0]
        sentence = text[start : (min(ends) + 1 if ends else len(text))]
        if _NO_MORE_ASKED.search(sentence) or not _NO_MORE_TOLD.search(sentence):
            return True
    return False


# Opting out of something: messages ("opt out of future texts", "opt me out of your marketing") or
# a part of a product or plan ("opt out of the auto-renewal", "opted out of overdraft"). TRIAGE.md's
# opt-out wants no more messages; the other asks to change or end a plan.
_OPT_OUT_OF = re.compile(
    r"\bopt(?:[\s-]?(?:ed\s+)?out|ing out|\s+(?:me|us)\s+out)\s+of\s+((?:[\w'-]+\s+){0,3}[\w'-]+)", _I
)
_MESSAGES = re.compile(
    r"\b(?:te?xt|txt|sms|messag|e-?mail|mail|call|marketing|promo|newsletter|list|contact|communicat|notif|"
    r"alert|remind|update|offer|ads?\b|advert|spam|survey)",
    _I,
)


def without_plan_opt_outs(text: str) -> str:
    """The text with every opt-out of something other than messages blanked."""
    return _OPT_OUT_OF.sub(lambda m: m.group(0) if _MESSAGES.search(m.group(1)) else " ", text)


_UNSUBSCRIBE_WORD = re.compile(r"\b(?:unsubscribed|unsubbed|opted[\s-]?out)\b", _I)  # told, not asked
# A customer who wants messages (back): to be added again, an unsubscribe made by mistake, one kind
# of message still wanted. Not after a "don't" ("don't add me back").
WANTS_CONTACT = re.compile(
    r"(?<!n't )(?<!not )(?<!never )\b(?:add|put|sign) me (?:back|up again|on (?:it|the list) again)\b|"
    r"\bre-?subscribe\b|\bopt (?:me )?back in\b|\b(?:unsubscribed|opted out)(?: \w+){0,4}? "
    r"(?:by (?:mistake|accident)|accidentally)\b|\baccidentally (?:unsubscribed|opted out)\b|"
    r"\b(?:i|we) (?:still|do) want (?:the|your|to (?:get|receive|hear))\b",
    _I,
)


# How a bulk sender tells the reader to stop ("Txt STOP to 87239", "reply STOP to opt out",
# "to unsubscribe send STOP"): the footer of a marketing text, never a customer asking to stop
# (who writes "I replied STOP", "stop texting me"). Imperative present tense only.
_STOP_WORD = r"['\"]?(?:stop|stopall|end|unsub\w*|optout|opt[\s-]?out|quit|no)['\"]?"
OPT_OUT_INSTRUCTION = re.compile(
    rf"\b(?:txt|text|reply|send|sms|msg)\s+(?:the\s+word\s+)?{_STOP_WORD}\s+(?:to|2|on)\s+"
    r"(?:\d{3,}|end|stop|cancel|opt[\s-]?out|unsub\w*|quit|remove|this|us|receive|no\s+more)\b[^.!\n]*|"
    rf"\b(?:to|2)\s+(?:opt[\s-]?out|unsub\w*|stop(?:\s+(?:receiving|these|further))?|end|remove)\b[^.!\n]{{0,30}}?"
    rf"\b(?:txt|text|reply|send|sms)\s+(?:the\s+word\s+)?{_STOP_WORD}|"
    r"\b(?:txt|text|reply|send)\s+stop\b(?=[\s.,!]*$)",
    _I,
)


def chases_refund(text: str) -> bool:
    """Where money back already asked for stands ("when will I get my money back?", "still no
    refund"): a status inquiry by TRIAGE.md, not a new request for money back."""
    return any(p.search(text) for p in REFUND_NOT_REQUEST[:4])


# A letter this long tells a story; money back named in it is asked for only in a request's words
# ("I want a full refund", "please reimburse me"), not in what happened ("they refunded half").
STORY_WORDS = 60
TERSE_WORDS = 20
LETTER_WORDS = 40  # a letter, not a message: it tells a story, and the classifier saw few such
_MONEY_WORD = r"(?:money|funds|deposit|payment|fee|charges?|amount|cash|[$£€]\s?\d{1,7}(?:[.,]\d{1,3})*)"
REFUND_ASK = re.compile(
    # a request's words, then money back in the same sentence ("I want a full refund of …")
    r"\b(?:want|wants|need|needs|like|demand\w*|expect\w*|request\w*|ask\w* (?:for|that|you|them)|"
    r"seek\w*|please|pls|kindly|can (?:i|we|you)|could (?:i|we|you)|would you|should|must|deserve\w*|"
    r"entitled to|owed|insist\w*)\b[^.!?]{0,80}?(?:\brefund\w*|\breimburs\w*|\b"
    + _MONEY_WORD
    + r"\s+back\b|\bcharge ?back|\breverse\w*|\bcredit (?:it|that|them|my|our|the)\b)|"
    # or an imperative: "Refund the $180 permit fee to my card.", "Process a refund by Friday."
    r"(?:^|[.!?]\s+)(?:please\s+)?(?:refund|reimburse|reverse|credit|process (?:a|the|my) refund)\b|"
    r"\b(?:full|partial) refund\b|\brefund in full\b",
    _I,
)


# Looser wordings of money coming back, enough to keep a classifier's refund guess (never enough
# on their own to call a message a refund request): "send back the $350 I paid", "credit 120
# dollars back to my account", "how soon will I see my $15?", "I'm owed 120 dollars", "I would
# like that returned to my card". Amounts are bounded and start at a word edge: a line of 16,000
# digits must not cost a quadratic scan.
_AMOUNT = (
    r"(?:(?<![\w.,])[$£€]\s?\d{1,7}(?:[.,]\d{1,3})*|(?<![\w.,])\d{1,7}(?:[.,]\d{1,3})*\s?"
    r"(?:dollars|bucks|euros?|pounds|quid|usd|eur|gbp)|bucks|dollars|money|cash)"
)
MONEY_BACK_LOOSE = re.compile(
    r"\b(?:send|give|pay|credit|put|transfer|wire|refund|return|want|need|get|like)\s+(?:\S+\s+){0,5}?back\b|"
    r"\btake (?:\S+\s+){0,4}?off (?:my|our|the) (?:card|bill|account|invoice|statement)\b|"
    rf"{_AMOUNT}\s+(?:\S+\s+){{0,3}}?back\b|\bback (?:on|to|in|into|onto) (?:my|our|the) (?:card|account|bank)|"
    r"\b(?:returned|refunded|credited|sent|paid|put|send|return|credit)\s+(?:\S+\s+){0,4}?(?:to|on|onto|into) "
    r"(?:my|our|the) (?:same )?(?:card|account|bank)|"
    rf"\bsee (?:my|our|the) {_AMOUNT}|\b(?:owed|oed)\b|\b(?:want|need|get|have) (?:my|our) money\b|\bcompensat\w*|"
    r"\b(?:remove|waive|drop|cancel|void|wipe|take off|reverse) (?:the |that |this |a |my |these |those )?"
    r"(?:\w+ )?(?:charges?|fees?|payments?|transactions?|debits?)\b|\breturn (?:of )?(?:my|our|the) (?:money|payment|deposit|funds)\b|"
    r"\breverse (?:it|that|this|them|one|one of them|the (?:second|duplicate|extra|other) one)\b",
    _I,
)


def told_not_asked(text: str) -> bool:
    """A long letter with no request's words near its money back: a refund told, not asked for."""
    return len(text.split()) > STORY_WORDS and not REFUND_ASK.search(text)


def mentions_money_back(text: str) -> bool:
    """Money back asked for in some wording: "refund", "reimburse", "$80 back on my card",
    "reverse the charge"; and in a short message the looser "send back the $350 I paid"."""
    if told_not_asked(text):
        return False
    if any(p.search(text) for p in REFUND_PATTERNS):
        return True
    return len(text.split()) <= STORY_WORDS and MONEY_BACK_LOOSE.search(text) is not None


def is_refund_request(text: str) -> bool:
    """Money back is asked for (not: where is my refund, what is your refund policy, nor a long
    letter that only tells of a refund)."""
    if not any(p.search(text) for p in REFUND_PATTERNS):
        return False
    if told_not_asked(text):
        return False
    return not any(p.search(text) for p in REFUND_NOT_REQUEST)


def caps_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    words = [w for w in re.findall(r"[A-Za-z]{3,}", text)]
    return len(letters) >= 12 and len(words) >= 3 and sum(c.isupper() for c in letters) / len(letters) > 0.7


def anger_score(text: str) -> float:
    """0..1: how angry the message reads (words, emoji, shouting, exclamation runs)."""
    score = 0.0
    hits = len(ANGER_WORDS.findall(text))
    score += min(0.6, 0.35 * hits)
    if ANGER_EMOJI.search(text):
        score += 0.4
    if caps_shouting(text):
        score += 0.3
    if re.search(r"[!?]{2,}", text):
        score += 0.15
    return min(1.0, score)


@dataclass(frozen=True)
class RuleReading:
    """What the rules see in a message, before the classifier is consulted."""

    opt_out: bool
    refund: bool
    anger: float
    signals: tuple[Signal, ...]


def read(text: str) -> RuleReading:
    """Run every rule once."""
    signals: list[Signal] = []
    anger = anger_score(text)
    if anger >= 0.35:
        signals.append(Signal(SignalName.FRUSTRATED, round(min(0.99, 0.5 + anger / 2), 2)))
    elif WRONG_CHARGE.search(text) and not POLITE.search(text):
        signals.append(Signal(SignalName.FRUSTRATED, 0.6))  # a polite "charged twice … thanks!" is not angry
    if URGENT.search(text):
        signals.append(Signal(SignalName.URGENT, 0.8))
    if asks_price(text):
        signals.append(Signal(SignalName.PRICE_ASKED, 0.8))
    if HUMAN.search(text):
        signals.append(Signal(SignalName.ASKS_FOR_HUMAN, 0.8))
    if COMPETITOR.search(text):
        signals.append(Signal(SignalName.MENTIONS_COMPETITOR, 0.7))
    ref = REFERRAL.search(text)
    if ref:
        who = next((g for g in ref.groups() if g), None)
        signals.append(Signal(SignalName.REFERRAL, 0.8, who))
    if RETURNING.search(text):
        signals.append(Signal(SignalName.RETURNING_CUSTOMER, 0.7))
    if INJECTION.search(text):
        signals.append(Signal(SignalName.PROMPT_INJECTION, 0.9))
    fixed = fix_typos(text)
    return RuleReading(is_opt_out(fixed), is_refund_request(fixed), anger, tuple(signals))


CANCEL = re.compile(
    r"\bcall(?:ing)? off\b|\bnot (?:be )?going ahead\b|\bwon'?t be (?:going ahead|needing)\b|"
    r"\bdecided (?:against|not to (?:go ahead|proceed|book))\b|\bcancel(?:l?ing|l?ed)?\b(?!\s+polic)|"
    r"\bclose (?:my|our|the) (?:\w+ )?(?:account|loan|card|plan|membership|subscription)\b|"
    r"\bpull out of (?:the|our|my) (?:booking|appointment|order|job|contract|deal|plan)\b|"
    r"\bstop (?:the|my|our) (?:\w+ )?(?:plan|membership|subscription|service|payments?)\b|"
    r"\bscrap the (?:booking|appointment|order|job|visit|plan|install\w*)\b|\bterminate\b|"
    r"\bend (?:my|our) (?:plan|membership|contract|subscription)\b|"
    r"\bquit(?:ting)? (?:my|our) (?:\w+ )?(?:account|plan|membership|contract|subscription|service)\b|"
    r"(?:^\W*|\b(?:i|we)(?:'d|'m|'re| would| really| am| are)?\s+)(?:like|want|wish|need|going|decided|have) "
    r"to quit\b(?!\s+\w+ing\b)|"  # a person quits ("I want to quit"); an AC that "decided to quit" broke
    + _OFF_THE_CALENDAR,
    _I,
)
# Asking to cancel, in a request's words: enough to pull a message the classifier read as a
# complaint over to cancellation ("this is the third no-show, please cancel my plan"). A cancel
# word in a story ("they said they would cancel my order") is not enough.
CANCEL_ASK = re.compile(
    r"\b(?:please|pls|plz|kindly)\s+(?:\w+\s+){0,2}?(?:cancel|close|terminate|end)\b|"
    r"\b(?:i|we)(?:'d| would| want| wish| need| am| 'm|'m)?\s+(?:\w+\s+){0,3}?(?:like|want|wish|need|asking|"
    r"requesting|writing|going|have) to (?:\w+\s+)?(?:cancel|close|terminate|end|quit)\b(?!\s+\w+ing\b)|"
    r"^\W*(?:want|like|need) to quit\b|"
    r"\b(?:can|could|would|will) you (?:please |just )?(?:cancel|close|terminate)\b|"
    r"\bhow (?:do|can) (?:i|we) (?:cancel|close|terminate)\b|^\W*(?:\w+\W+){0,2}?cancel\b|"
    r"(?:[.!?,;:]\s*|\b(?:so|and|just|now)\s+)(?:please\s+|pls\s+|just\s+)?cancel\b|"
    r"\bcancel (?:it|that|this|everything|the (?:rest|order|booking|appointment|visit|job|service))\b|"
    + _OFF_THE_CALENDAR,
    _I,
)
# A cancellation told in the past ("I cancelled", "they closed my account"), not asked for.
CANCELLED_ONLY = re.compile(
    r"\b(?:I|we|they|you|he|she|it)\s+(?:had\s+|have\s+|already\s+|'ve\s+)?(?:cancell?ed|closed|terminated)\b|"
    r"\b(?:was|were|been|got)\s+(?:cancell?ed|closed|terminated)\b",
    _I,
)
WRONG_CHARGE = re.compile(
    r"\b(?:charged|billed|overcharged|double[\s-]?charged)\b.{0,40}\b(?:twice|never|didn'?t|wrong|without|not|"
    r"again)\b|\b(?:extra|unexpected|hidden|wrong|mystery|unknown)\s+(?:charge|fee|amount)s?\b|"
    r"\bcharge on my (?:bill|card|statement|account)\b|\bnever (?:ordered|agreed|authori[sz]ed)\b|"
    r"\bwhy (?:was|were|am|have) (?:i|we) (?:been )?(?:charged|billed)\b|\bwhy is there an? (?:extra )?(?:charge|fee)\b",
    _I,
)
# What an opt-out talks about. A classifier guess of opt-out whose only 'stop' means a visit
# ('please don't stop by tomorrow') is not trusted.
CONTACT_WORDS = re.compile(
    r"\b(?:te?xt\w*|txt\w*|msg\w*|messag\w*|e-?mail\w*|mail\w*|call\w*|phon\w*|numbers?|contact\w*|lists?|"
    r"unsub\w*|subscri\w*|stop\w*|remove|spam\w*|promo\w*|marketing|newsletters?|hear from|alone|bother\w*|"
    r"reminders?|notifications?|sms|opt\w*|quit|end|harass\w*|leave me|go away|signed up|sign me up|ads?|offers?)\b",
    _I,
)
VISIT_STOP = re.compile(r"\bstop(?:ping)? (?:by|in|over|round|at|off)\b", _I)


# Asking whether a fee exists is a pricing question, not a wrong charge (TRIAGE.md tie-break).
FEE_QUESTION = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:is|are) there (?:an?|any)\s+(?:\w+\s+)?(?:charges?|fees?|costs?)\b|"
    r"\bdo you (?:charge|add|have) (?:an?|any)\s+(?:\w+\s+)?(?:charges?|fees?)\b",
    _I,
)
HUMAN_STRONG = re.compile(
    r"\b(?:give|gimme)\s+(?:me|us)\s+a\s+(?:call|ring|bell)\b|\bring me\b|\bcall me\b|\bcall ?back\b|"
    r"\bphone me\b|\b(?:real|actual|live)\s+(?:person|human)\b|\bput me through\b|\bto a (?:person|human)\b|"
    r"\bspeak (?:to|with) (?:a|an|the|some|your) ?(?:person|human|manager|owner|someone|agent|supervisor|somebody)\b|"
    r"\b(?:somebody|someone) (?:give me a|to) (?:call|ring)\b|\bis this a bot\b|\bconnect me\b",
    _I,
)
SPAM = re.compile(
    r"\bclick (?:here|the link|this link)\b|\blog ?in (?:here|now|to keep)\b|\bverify your "
    r"(?:account|password|details|identity)\b|\bupdate (?:your )?(?:payment |billing |bank )?details at\b|"
    r"\b(?:verify|confirm) the (?:account|password|details|identity)\b(?=[\s\S]{0,200}(?:https?://|www\.))|"
    r"\blottery\b|\bmake money\b|\bearn \$|\bbitcoin\b|\bcrypto\b|\bseo\b|\bbacklinks?\b|"
    r"\b(?:page 1|first page|top) of google\b|\brank(?:ing)? #?1\b|\bdatabase of\b|\bleads? (?:database|list)\b|"
    r"\bbuy(?:ing)? your business\b|\bdear (?:friend|winner|business owner|beneficiary)\b|"
    r"\bfollowers\b|\b(?:on|via) (?:whatsapp|telegram)\b|\bguaranteed \d+ ?%|\bmailbox is full\b|"
    r"\bbusiness proposal\b|\bwon an?\b.{0,20}\b(?:gift card|voucher|prize)\b|\binheritance\b|"
    r"\bdouble your (?:revenue|sales)\b|\bqualified leads\b|\bweb ?design\b.{0,30}\$",
    _I,
)

# Unhappy about something that happened, even without an angry word: damage, no-show, rudeness,
# poor work, polite disappointment. Overrules a soft, status, booking or pricing guess.
COMPLAINT_STRONG = re.compile(
    r"\b(?:very|really|so|extremely|quite|deeply|bitterly|hugely|most)\s+(?:disappointed|unhappy|upset|dissatisfied)\b|"
    r"\bnot (?:impressed|satisfied|good enough|acceptable)\b|\b(?:is|was|it'?s|that'?s)\s+not ok(?:ay)?\b|\bunacceptable\b|\bdissatisfied\b|"
    r"\b(?:damaged|broke|scratched|ruined|cracked|dented|stained|smashed|scuffed)\s+(?:my|our|the)\b|"
    r"\b(?:arrived|came|is|was)\s+(?:damaged|broken|smashed|cracked|dented|faulty)\b|"
    r"\b(?:never|didn'?t|did not|didnt|failed to)\s+(?:bother(?:ed)? to\s+)?(?:show(?:ed)?|turn(?:ed)?)\s+up\b|"
    r"\bno[\s-]show\b|\b(?:was|were|so|very|really|extremely)\s+rude\b|\bformal complaint\b|"
    r"\b(?:make|file|lodge|raise)\s+a\s+complaint\b|\bwant to complain\b|\bwriting to complain\b|"
    r"\bwaste of (?:my |our )?(?:time|money|a (?:day|morning|afternoon))\b|\bthanks for nothing\b|"
    r"\bripped off\b|\bpoor (?:service|workmanship|quality|job|work)\b|\bsloppy\b|\bshoddy\b|"
    r"\b(?:broken|wrong|same (?:problem|issue|noise))\s+again\b|\bagain\?!|\bworse than before\b",
    _I,
)

# A customer's account of being let down, in any trade: chased and ignored, refused, misled,
# billed or reported wrongly, a problem still not put right. Pulls a message the classifier read
# as a new enquiry, a routine question or small talk over to complaint (never a status question:
# "I still haven't received my order, where is it?" asks where it stands).
COMPLAINT_STORY = re.compile(
    r"\b(?:refused|refuses|refusing) to\b|\b(?:lied|lying) to (?:me|us)\b|\bmisled\b|\bmisleading\b|"
    r"\bwithout my (?:permission|consent|authori[sz]ation|knowledge)\b|\bunauthori[sz]ed\b|"
    r"\b(?:no one|nobody|no-one) (?:has |ever )?(?:called|responded|replied|got(?:ten)? back|helped|answered)\b|"
    r"\b(?:called|contacted|emailed|e-mailed|wrote to|phoned) (?:them |you |your \w+ )?(?:several|multiple|many|"
    r"numerous|countless|\d+|three|four|five) times\b|"
    r"\b(?:still|has|have) not (?:been )?(?:resolved|fixed|corrected|removed|refunded)\b|"
    r"\b(?:still|never) (?:been )?(?:resolved|fixed|corrected)\b|\bharass\w*\b|"
    r"\b(?:keeps?|kept|continues?|continued) to (?:charge|bill|call|report)\b|"
    r"\b(?:keeps?|kept|still) (?:on )?(?:charging|billing|calling|texting)\b|"
    # what was billed or reported is wrong (not "I gave you an incorrect phone number")
    r"\b(?:incorrect|inaccurate|erroneous)(?:ly)? (?:charges?|bills?|billing|invoices?|amounts?|reports?|"
    r"reporting|statements?|balances?|fees?|totals?|information)\b|"
    r"\b(?:charge|bill|invoice|amount|report|statement|balance|fee|total) (?:is|was|are|were) "
    r"(?:incorrect|inaccurate|erroneous)\b|"
    r"\bthis is (?:ridiculous|outrageous|unacceptable|a joke)\b|\bdisput(?:e|ed|ing)\b|\bto no avail\b|"
    r"\bdespite (?:my|our|numerous|several|multiple|repeated|many)\b|"
    r"\b(?:have|had) been trying to (?:reach|contact|call|get (?:hold of|through to|in touch with)|speak|talk)\b|"
    r"\bnot mine\b|\bnever (?:received|authori[sz]ed|applied|opened|agreed)\b|"
    # the business let them down (not "the furnace failed to start", "a friend told me")
    r"\b(?:you|your \w+|they|the company) (?:failed|neglected) to\b|\bno response (?:from|to|yet)\b|"
    r"\bnever (?:heard|got) back\b|\b(?:you|your \w+) (?:promised|assured) (?:me|us)\b|"
    r"\bI was (?:promised|assured)\b|\b(?:was|were|been) denied\b",
    _I,
)

# What a customer says was done wrong to them, one cue at a time (a story of being let down
# usually carries several): errors, refusals, fraud, being ignored, misled or harassed.
LET_DOWN = re.compile(
    r"\b(?:errors?|erroneous\w*|mistakes?|mistaken\w*|incorrect\w*|inaccura\w*|wrongful\w*|wrongly|fraud\w*|"
    r"scam\w*|unauthori[sz]ed|identity theft|stolen|harass\w*|threaten\w*|refus(?:ed|es|ing)|denied|"
    r"fail(?:ed|s|ing) to|neglect\w*|negligen\w*|lied|lying|misled|mislead\w*|decept\w*|deceiv\w*|"
    r"illegal\w*|unlawful\w*|violat\w*|unfair\w*|abusive|predatory|overcharg\w*|excessive|penalt\w*|"
    r"no response|never (?:received|responded|heard|got|sent|applied|authori[sz]ed)|ignor(?:ed|ing)|"
    r"unprofessional|rude|disput\w*|complain\w*|not mine|without (?:my|any|prior) (?:permission|consent|"
    r"knowledge|notice|authori[sz]ation)|to no avail|(?:still|has not|have not|hasn't|haven't) (?:been )?"
    r"(?:resolved|fixed|corrected|removed|received)|unacceptable)\b",
    _I,
)


# The business did the work (OUR_WORK), and soon after it went wrong: "your technician serviced our
# furnace … three days later it stopped working". All three parts, so a returning customer's new need
# ("you installed our AC in 2015 and it stopped today") and thanks ("since then it works great") are not.
_SOON = re.compile(
    r"\b(?:(?:\w+ )?(?:hours?|days?|weeks?) later|a (?:day|week|month) later|the (?:next|following) "
    r"(?:day|morning|night|week)|since (?:then|your visit|the visit|you left|they left)|(?:the )?same "
    r"(?:day|night|evening)|when (?:we|i) got home|right after|within (?:a|two|three|\d+) (?:days?|weeks?|hours?))\b",
    _I,
)
_FAILED = re.compile(
    r"\b(?:stopped|broke|broken|leak\w*|fail(?:ed|s|ing)|not working|(?:doesn't|didn't|does not|did not|won't|"
    r"will not) (?:work|start|turn on|close|open)|worse|damaged|disconnected|cracked|came (?:loose|off|apart)|"
    r"fell (?:off|apart|down)|flooded|no (?:heat|hot water|power|air))\b",
    _I,
)


_PRAISE = re.compile(
    r"\b(?:perfect\w*|great|excellent|fantastic|amazing|thrilled|happy with|works? (?:great|well|fine)|"
    r"thank(?:s| you))\b",
    _I,
)


def our_work_failed(text: str) -> bool:
    """The business's own work went wrong soon after it was done: a complaint, not a new need.
    Praise anywhere says it is not ("your tech fixed it, the next day it was warmer, thanks")."""
    return bool(
        OUR_WORK.search(text) and _SOON.search(text) and _FAILED.search(text) and not _PRAISE.search(text)
    )


def let_down(text: str) -> bool:
    """Any sign the customer was let down: a wrong charge, a story of it, plain displeasure or anger."""
    return bool(
        WRONG_CHARGE.search(text)
        or COMPLAINT_STORY.search(text)
        or COMPLAINT_STRONG.search(text)
        or ANGER_WORDS.search(text)
        or LET_DOWN.search(text)
        or our_work_failed(text)
    )


def let_down_story(text: str) -> bool:
    """A letter (not a question) that tells of being wronged in at least two ways: a complaint,
    whatever product it is about ("I applied for the loan … they denied it … the error was never
    corrected" is not a sales inquiry)."""
    if len(text.split()) < LETTER_WORDS or "?" in text or _NEW_BUSINESS.search(text):
        return False
    return len({m.group(0).lower()[:6] for m in LET_DOWN.finditer(text)}) >= 2  # "mistake(s)" once


# A letter that asks for something new, or blames another business ("my previous dentist made an
# error … I would like to book"): a new customer's story, not a complaint about this one.
_NEW_BUSINESS = re.compile(
    r"\b(?:my|our|the) (?:previous|former|old|last|other|current) (?:\w+ )?(?:company|business|bank|"
    r"dentist|doctor|salon|stylist|garage|mechanic|shop|contractor|plumber|provider|landlord|clinic|practice|"
    r"vet|cleaner|cleaners|agency|firm|one)\b|"
    r"\b(?:i|we)(?:'d| would| want| need| am| are|'m|'re)? (?:\w+ )?(?:like|want|need|looking|hoping) to "
    r"(?:book|schedule|open|switch|get a quote|register|sign up|join|move)\b|\bnew (?:patient|customer|client)\b",
    _I,
)


_CONTRAST = re.compile(r"\b(?:but|however|though|instead)\b", _I)
_ASKS_FOR = re.compile(
    r"\?|\b(?:can|could|would) (?:you|someone|we|i)\b|\b(?:needs?|wants?|like|book|schedule|please)\b", _I
)


_NOT_NEEDED = re.compile(
    r"\b(?:won'?t|will not|do(?:n'?t| not)|no longer|not) (?:be )?need(?:ing|ed)?\b|\bno need for\b", _I
)


# What was ongoing or arranged, now stopped: "the weekly cleaning anymore", "Friday after all".
_DISCONTINUED = re.compile(r"\b(?:any ?more|any longer|after all|from now on|going forward)\b", _I)


def sets_aside_to_ask(text: str) -> bool:
    """Something not needed, and nothing booked, before a "but" that asks for another: "We won't be
    needing AC service this year, but the furnace needs its tune-up". Not "Terminate my membership.
    But …", nor "won't need Friday's appointment, but …" (something booked is cancelled)."""
    m = CANCEL.search(text)
    if m is None or CANCEL_ASK.search(text):
        return False
    contrast = _CONTRAST.search(text, m.end())
    if contrast is None:
        return False
    head, rest = text[: contrast.start()], text[contrast.end() :]
    return (
        _NOT_NEEDED.search(head) is not None
        and BOOKED_WITH_US.search(head) is None
        and _DISCONTINUED.search(head) is None
        and CANCEL.search(rest) is None
        and _ASKS_FOR.search(rest) is not None
    )


# Someone who offers to buy from the business (scrap, old units, the business itself) or to sell
# it customers: not a customer for its services, whatever the classifier reads ("we buy scrap
# copper and old AC units for cash", "we send you 20 homeowner leads a month").
OFFERS_TO_BUY_OR_SELL_LEADS = re.compile(
    r"\bwe (?:buy|purchase|pay cash for)\b(?:\s+\S+){0,6}?\s+(?:for cash|any condition|top (?:price|dollar)s?)|"
    r"\b(?:top (?:price|dollar)s? paid|cash for (?:your )?(?:junk|scrap|old|used|unwanted))\b|"
    r"\b(?:buy|acquire|purchase) your (?:business|company)\b|"
    r"\b(?:exclusive|qualified|pre-?screened|verified) (?:homeowner |customer |roofing |hvac |plumbing )?leads\b|"
    r"\bpay (?:only )?per (?:lead|booked job|appointment)\b|\bbuying (?:\w+ ){0,3}?(?:scrap|junk|used|old)\b|"
    r"\bpaying cash\b|\b(?:acquir\w*|buy\w*|purchas\w*) (?:\w+ ){0,3}?(?:businesses|companies)\b|"
    r"\bconsider selling\b",
    _I,
)


# Something of ours on the calendar or on contract: what a cancellation letter cancels ("the
# install on the 18th", "Friday's duct cleaning", "the yearly maintenance plan").
BOOKED_WITH_US = re.compile(
    r"\b(?:booked|booking|appointment|visit|install(?:ation)?|tune-up|service call|plan|membership|"
    r"subscription|order|schedule|scheduled|the \d{1,2}(?:st|nd|rd|th)|(?:mon|tues|wednes|thurs|fri|satur|sun)day'?s?)\b",
    _I,
)

ASKS_STATUS = re.compile(r"\?|\b(?:where|when|status|update|eta|any news|how long)\b", _I)

# Categories a rule may pull a message away from when it clearly fits another.
SOFT = {Category.OTHER, Category.LEAD_REPLY, Category.SALES_INQUIRY, Category.ROUTINE_QUESTION}


# They ask what something costs: a price word in a question or a request, not any "$" in the text
# ("charged twice, $89" reports an amount; "how much for a tune-up?" asks one).
PRICE_QUESTION = re.compile(
    r"\bhow much\b|\bwhat(?:'s| is| are| would| will| do|'d)?\b[^.!?]{0,40}\b(?:price|cost|charge|rate|fee)s?\b|"
    r"\b(?:price|cost|charge|rate|fee)s?\b[^.!?]{0,40}\?|"
    # a quote asked for, not one already given ("since the estimate", "your quote said two weeks")
    r"(?<!the )(?<!your )(?<!our )(?<!that )(?<!this )\b(?:quote|estimate|quotation|ballpark|pricing|price list)\b|"
    r"\bdo you (?:charge|offer (?:a )?discounts?)\b|\bany (?:discounts?|deals?|offers?)\b|\bafford\b|"
    r"\b(?:is|are) (?:it|they|you) (?:expensive|pricey|cheap)\b|\bcheaper\b|\binterest rate\b|\bapr\b",
    _I,
)


def asks_price(text: str) -> bool:
    """Whether the message asks about price (the brief's "asked about price" and the signal)."""
    return PRICE_QUESTION.search(text) is not None


# Evidence that a message is spam, independent of the classifier: links, pitches, bulk-SMS
# markers, known scam patterns. Without any, a message is never held as spam.
SPAM_PITCH = re.compile(
    r"\b(?:free (?:entry|msg|ringtone|gift|trial offer|prize|tickets?)|freemsg|winner|you(?:'ve| have)? (?:won|been selected)|"
    r"congratulations?|congrats|claim (?:your|now|code|a|the)|prize|cash award|jackpot|bonus|voucher|"
    r"valid \d+ ?(?:hrs|hours|days)|t ?& ?cs?|tscs|ts&cs|std (?:txt|rate)|per (?:msg|min)|\d+p ?(?:/|per) ?(?:msg|min|day|wk)|"
    r"p(?:er)? ?min|18\+|16\+|over18|opt[- ]?out|reply (?:stop|end|yes|no)\b|send stop|text stop|"
    r"txt\b|text [A-Z]{2,} to|to \d{5}\b|\b0[89]\d{8,}|po ?box|marketing (?:services|agency)|lead generation|"
    r"grow your (?:business|sales)|increase your (?:sales|traffic|revenue)|more customers|special offer|limited time|"
    r"act now|risk[- ]free|100% free|no obligation|loan (?:offer|approved)|pre-?approved|investment opportunity|"
    r"dating|sexy|hot (?:girls|singles)|viagra|casino|betting|kindly|"
    r"our (?:agency|team of experts|services include)|we (?:help|helped) (?:businesses|companies|contractors)|"
    r"(?:website|web) (?:design|redesign|development)|rank(?:ing)? higher|google (?:reviews|ranking|maps)|"
    r"guest post|sponsored (?:post|content)|free (?:audit|consultation|analysis|website)|appointment setting|"
    r"virtual assistants?|outsourc\w*|offshore|white[- ]label|partnership opportunity|book a (?:quick )?call|"
    r"\d+[- ]minute call|roi|leads per (?:month|week)|unusual (?:activity|sign-?in)|account (?:suspended|locked|on hold)|"
    r"(?:confirm|verify) your (?:identity|payment|password)|password (?:expires|reset required)|wire transfer|"
    r"gift cards?|invoice attached|domain (?:expir\w*|renewal))\b",
    _I,
)
# The bulk text message's own vocabulary (premium rates, prize draws, text speak in a sales
# footer): what SPAM_PITCH's e-mail and lead-gen words miss in an SMS. Written from how such texts
# are built (a prize, how to claim it, what it costs), not from rows; words a shop's customer uses
# too ("competition", "free delivery", "latest phones", "entitled to") are left out. These count
# as evidence that lets the classifier's spam reading stand, never towards the 3-marker override.
SMS_BULK = re.compile(
    r"\b(?:(?:cash|prize|award|bonus|reward)s? (?:of|worth) [£$€]\s?\d{1,7}|"
    r"[£$€]\s?\d{1,7}(?:[.,]\d{1,3})* (?:cash|prize|award|bonus|reward)|"
    r"awarded|unredeemed|(?:specially |been )?(?:selected|chosen) to (?:receive|win)|"
    r"prize draw|lucky draw|(?:chance|chances) to win|ring ?tones?|polyphonic|"
    r"call (?:now|free|us free)|freephone|\d{1,4} ?ppm|\d{1,4}p ?(?:/|per) ?(?:min|msg|txt|text|wk|week|day|mth)|"
    r"[£$€]\s?\d{1,4}(?:\.\d\d)?\s?(?:/|per)\s?(?:wk|week|mth|month|min|msg)|cost(?:s)? \d{1,4}p|"
    r"gr8|2 claim|ur (?:awarded|prize|cash|bonus|reward)|u r (?:a )?(?:winner|awarded|entitled)|"
    r"(?:reply|txt|text|send) (?:yes|y|win|claim|play)(?: to| now|$)|(?:live |adult |sexy )chat|"
    r"stop ?2 ?(?:stop|end)|2 (?:stop|opt[- ]?out)|collect (?:your|ur) (?:prize|award|cash|reward)|"
    # handset and airtime offers, in the words only such a text uses
    r"camcorder|free (?:mins|minutes|texts|nokia|camcorder|ipod)|mobile (?:update|upgrade) co|"
    r"latest colou?r (?:mobiles?|phones?)|network operator|delivery within 28 days|sae|"
    # a sale's deadline, shouted as a bulk text does
    r"flash sale|(?:this weekend|today|tonight|24 hours|48 hours) only)\b",
    _I,
)
LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|co|info|biz|tv|ly|io)\b/?", _I)


def pitch_markers(text: str) -> set[str]:
    """The distinct pitch and bulk-message markers in a text ('winner', 'claim your', 'txt' …)."""
    return {m.group(0).lower() for m in SPAM_PITCH.finditer(text)}


def bulk_markers(text: str) -> set[str]:
    """Pitch markers and the bulk SMS's own ('150p/min', 'prize draw', '2 claim' …): evidence only."""
    return pitch_markers(text) | {m.group(0).lower() for m in SMS_BULK.finditer(text)}


def spam_evidence(text: str) -> str | None:
    """Why this looks like spam (a known pattern, a pitch or bulk marker, a link with a pitch), or None."""
    if SPAM.search(text):
        return "a known spam pattern"
    pitches = bulk_markers(text)
    if len(pitches) >= 2:
        return "a sales pitch or bulk-message markers (" + ", ".join(sorted(pitches)[:3]) + ")"
    if pitches and LINK.search(text):
        return "a link with a pitch"
    if pitches and not sensitive_topic(text) and len(text.split()) <= SHORT_PITCH_WORDS:
        return "a sales pitch (" + ", ".join(sorted(pitches)[:3]) + ")"
    return None


# What a pitch asks the reader to do: follow a link, ring or text a number, reply, claim.
CALL_TO_ACTION = re.compile(
    r"https?://|www\.|\d{3,}|\b(?:call|ring|dial|txt|text|reply|send|click|visit|claim|apply|order|buy|"
    r"subscribe|register|sign up|book now|contact us)\b",
    _I,
)


def weak_spam_evidence(text: str) -> bool:
    """One sign of spam only (a pitch or bulk word, or a known pattern) and no link: enough to let a
    sure spam reading stand, not an unsure one, nor one of a customer with a problem."""
    signs = len(bulk_markers(text)) + (1 if SPAM.search(text) else 0)
    return signs == 1 and not LINK.search(text)


# Markers that only say how to stop (a footer's "reply STOP", "text STOP"): a customer's own
# opt-out may use them, so they never count towards reading an opt-out as a bulk text.
_STOP_MARKER = re.compile(
    r"\b(?:stop|opt[- ]?out|unsub\w*|txt|text|reply|send|end)$|^(?:txt|text|reply|send) stop\b", _I
)
# A person speaking for themselves or their business ("stop texting us, we are a plumbing firm").
_SPEAKER = re.compile(r"\b(?:i|i'm|im|i've|i'd|me|my|mine|myself|we|we're|we've|us|our|ours)\b", _I)
# How a bulk sender tells the reader to stop, addressed to them: "reply with STOP", "txt STOP",
# "stop2end", "to opt out call 0871…", or an unsubscribe word followed within a few words by where
# or how ("To unsubscribe visit www…", "optout 87077"). A customer asking to stop never writes this.
_STOP_FOOTER = re.compile(
    r"\b(?:reply|txt|text|send|sms)\s+(?:with\s+)?(?:the\s+word\s+)?['\"]?stop\b|\bstop\s?2\s?(?:end|stop)\b|"
    r"\bto\s+(?:stop|opt[\s-]?out|unsubscribe)\b[^.!?]{0,40}?\b(?:reply|txt|text|send|call)\b|"
    r"\bstop\s+(?:texts|msgs|messages)\s*[?:]?\s*(?:call|txt|text|reply|send)\b|"
    r"\b(?:unsub\w*|opt[\s-]?out|optout)\b[\s:.,-]*(?:\S+\s+){0,5}?(?:reply|txt|text|send|sms|call|visit|"
    r"click|go to|www\.|https?://|\d{3,})|\b(?:unsub\w*|opt[\s-]?out|optout)\s*(?:at|@)\s",
    _I,
)


def bulk_despite_stop(text: str) -> bool:
    """A bulk text whose stop footer the opt-out rule read as a customer's STOP: the footer's
    instruction form addressed to the reader, a bulk marker besides the stop words, and no one
    speaking for themselves ("I", "we"). A short text is a person. The caller also requires the
    classifier to read spam. Opt-out beats everything, so every condition must hold."""
    if len(text.split()) <= 8 or _SPEAKER.search(text) or not _STOP_FOOTER.search(text):
        return False
    return any(not _STOP_MARKER.search(m) for m in bulk_markers(text))


# One pitch word is evidence only in a short text: a long letter that mentions "a welcome bonus"
# or "a gift card" once is a customer telling what they were offered (a pitch that long carries
# more markers or a link).
SHORT_PITCH_WORDS = 60


# What a customer with a problem mentions: never held as spam on a guess, never answered by a
# machine without a person seeing it first.
SENSITIVE = re.compile(
    r"\b(?:complain\w*|complaint|(?:file|make|lodge|insurance|warranty) (?:a )?claim|refund\w*|reimburs\w*|money back|"
    r"chargeback|dispute\w*|cancel\w*|(?:my|our|the) account|charged|overcharg\w*|double[- ]billed|"
    r"manager|supervisor|(?:real|actual|live|a) (?:person|human)|speak (?:to|with) (?:someone|somebody)|"
    r"representative|lawyer|attorney|legal action|sue|police|fraud|scam\w*|phishing|violat\w*|illegal\w*|"
    r"unlawful\w*|unsubscribe)\b",
    _I,
)


def sensitive_topic(text: str) -> str | None:
    """The first sensitive word in the message ('refund', 'complaint', 'manager' …), or None. Any
    way of cancelling `CANCEL` knows ("I want to quit", "close my savings account") is one when it is
    asked for, not "we decided against a new furnace" or "scrap the old boiler"."""
    m = SENSITIVE.search(text) or (CANCEL.search(text) if CANCEL_ASK.search(text) else None)
    return m.group(0).lower() if m else None
