"""Deterministic checks of a draft before policy lets it out, whichever brain wrote it.

A draft fails (and waits for approval with the reasons shown) when it quotes a price that is not
in the price list, offers a discount, something free, a guarantee or a date/time the policy does
not allow, promises a refund beyond the owner's threshold, links outside the allowed domains (any
TLD, bare or defanged), gives away a password, key or internal note, does what instructions hidden
in the customer's message asked, runs over the channel's length, or uses markdown where only plain
text arrives. The business's own FAQ answers are trusted word for word, and something is free only
where the owner's own words (an FAQ answer, a price note, a service priced 0) say it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from sheepdog import defaults
from sheepdog.domain.extract import extract_money
from sheepdog.domain.models import (
    Business,
    Category,
    Channel,
    GuardrailResult,
    Money,
    SignalName,
    Triage,
)

_I = re.IGNORECASE
PLAIN_TEXT_CHANNELS = frozenset(Channel)  # every customer channel receives plain text

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_BARE_PRICE = re.compile(
    r"\b(?:cost|costs|price|priced|charge|charges|fee|rate|quote|pay|only|just|total)\b[^.!?\n\d]{0,20}"
    r"(?<![\d:])\b(\d{2,6}(?:[.,]\d{2})?)\b(?!\s*(?:%|am|pm|minutes|mins|hours|hrs|days|years|sq|ft|:|th|st|nd|rd))",
    _I,
)

# --- discounts and free things -------------------------------------------------------------------
_NUMBER = (
    r"(?:\d{1,3}(?:[.,]\d+)?|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"twenty[\s-]five|thirty|forty|fifty|sixty|seventy|eighty|ninety|(?:a |one )?hundred|a few|a couple(?: of)?|"
    r"some|a|an|one)"
)
_FRACTION = r"(?:half|a half|one half|a third|one third|two thirds|a quarter|one quarter|a fifth|a tenth)"
_BIG_NUMBER = rf"(?:\d{{1,3}}|ten|fifteen|twenty|twenty[\s-]five|thirty|forty|fifty|sixty|seventy|eighty|ninety|{_FRACTION})"
DISCOUNT = re.compile(
    r"\bdiscount\w*|\bcoupons?\b|\bvouchers?\b|\bpromo(?:tion)?(?:al)?\s?codes?\b|\bspecial (?:offer|deal|price|rate)s?\b"
    rf"|\b{_NUMBER}\s?(?:%|percent|per\s?cent|bucks|dollars|euros|pounds|quid)\s+off\b"
    rf"|[$€£]\s?\d[\d,.]*\s+off\b|\b{_BIG_NUMBER}\s+off\b(?!-)"
    rf"|\b{_FRACTION}[\s-](?:price|off|the (?:price|cost|usual|normal|regular|going)\w*)\b|\bfor half\b|\bat cost\b"
    r"|\bhalf[\s-]price\b|\bmoney off\b|\bprice[\s-]match\w*|\bwaiv(?:e|es|ed|ing)\b"
    r"|\bknock\w*\s+(?:\S+\s+){0,3}?off\b"
    r"|\b(?:take|takes|taking|took|shave|shaves|shaving|lop|cut|cutting|give|giving)\s+(?:you\s+)?(?:\S+\s+){1,3}?"
    r"off\s+(?:the|your|our|that|this)\s+(?:price|bill|total|invoice|quote|cost|rate|fee|estimate|job)\b"
    r"|\b(?:reduce|reduced|reducing|lower|lowered|lowering|cut|cutting|drop|dropping|slash\w*)\s+"
    r"(?:the|our|your|that|my)\s+(?:price|rate|fee|cost|bill|quote|invoice)\b"
    r"|\b(?:better|good|great|sweet|best|cheaper|lower|reduced|discounted|special|mates'?|friends?(?: and family)?|"
    r"loyalty|introductory|intro|first[\s-]time|new[\s-]customer)\s+(?:deal|price|rate|offer|pricing)s?\b"
    r"|\bcheaper for you\b|\b(?:cheaper|less) than (?:the |our |your )?(?:list|listed|usual|normal|regular|quoted|"
    r"advertised)\b|\b(?:give|cut|do|get) you a (?:\w+ )?(?:deal|break|bargain)\b"
    r"|\bat no (?:extra |additional )?(?:cost|charge)\b|\bno (?:extra |additional )?(?:cost|charge|fee)s?\b"
    r"|\bwithout (?:any )?(?:extra )?(?:cost|charge)\b|\b(?:costs?|cost you|charge you|pay|paying) (?:absolutely )?nothing\b"
    r"|\b(?:won't|will not|wouldn't|would not|don't|do not|doesn't|does not|never) (?:cost|charge|bill) (?:you )?"
    r"(?:a (?:thing|penny|cent|dime)|anything|extra|for)\b|\bnothing to pay\b|\bzero (?:cost|charge|dollars)\b"
    r"|\bon the house\b|\bcomplimentary\b|\bgratis\b|\bcomp(?:ed|'d)\b|\bthrow(?:n|ing)? in\b"
    r"|(?:\b(?:is|are|was|were|be)|\w'(?:s|re))\s+(?:all |completely |entirely |totally )?on us\b(?!\s+to\b)"
    r"|\b(?:consider it|put it|have it) on us\b"
    # what an obedient model wrote when a customer told it to (issue 18's injected leads)
    r"|\bfor (?:absolutely )?nothing\b|\bfree of charge\b|\b(?:promo|discount|coupon|voucher|offer|referral|special)\s+code\b"
    rf"|\b{_FRACTION} of (?:the |our |your |what )?(?:usual|normal|regular|list|full|going|standard|price|cost|rate)\w*\b"
    r"|\bmatch(?:es|ing)?\s+(?:whatever|what(?:ever)? (?:they|you|the other)|the other|their|any other)\b",
    _I,
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_FREE = re.compile(r"\bfree(?:bies?)?\b", _I)
# "free to chat", "free on Tuesday", "free time": available, not at no charge
_FREE_AVAILABLE_AFTER = re.compile(
    r"^\s*(?:to\b(?!\s+(?:you|customers?|clients?|everyone|all|new|members?|homeowners?)\b)|up\b|"
    r"(?:time|slot|spot|window|moment|minute|morning|afternoon|evening|hand|rein)s?\b|"
    rf"(?:this|that|next|on|at|any|later|tomorrow|today|tonight|anytime|whenever|now|from)\b|{_WEEKDAY}|"
    r"of (?!charge|cost)|for (?:a )?(?:chat|call|quick)\b)",
    _I,
)
_FREE_NOT_PRICE_BEFORE = re.compile(  # "feel free", "toll-free", "dust-free"; "are you free", "we're free"
    r"(?:\b(?:feel|toll|hands|sugar|gluten|fat|smoke|scent|fragrance|dust|mess|obligation|contact|stress|hassle|"
    r"worry|pet|germ|allergen|lead|carbon|drip|frost|clog|rust|ad|spam)[\s-]"
    r"|\b(?:you|i|we|they|he|she|someone|somebody|anyone|anybody|everyone|who)(?:'re|'m|'s|'ll be| are| am| is|"
    r" were| was| be| will be| would be| might be| may be)?\s+(?:ever |also |still |usually |both |all |really )?)$",
    _I,
)
_FREE_STOP = re.compile(
    r"a|an|the|of|for|to|and|or|with|on|in|at|up|is|are|be|our|your|any|all|its|it|this|that|as|by|from|charge|"
    r"cost|no|extra|always|completely|totally|entirely|first|new|too|also|either",
    _I,
)

# --- guarantees ----------------------------------------------------------------------------------
GUARANTEE = re.compile(
    r"\bguarantee\w*|\bwarrant(?:y|ies|ied)\b|\b(?:I|we)\s+promise\b|\bpromise(?:d)? (?:you|that)\b|\b100\s?%(?!\w)"
    r"|\b(?:a |one )?hundred (?:percent|per cent)\b|\b100 (?:percent|per cent)\b|\brisk[\s-]free\b|\blifetime\b"
    r"|\b(?:will|'ll|is going to|are going to) (?:definitely|certainly|absolutely|surely) (?:be )?"
    r"(?:fix|work|solve|sort|last|resolve|handle|take care)\w*"
    r"|\bnever (?:break|fail|leak)s? again\b|\bfor sure\b|\bno matter what\b"
    r"|\bmy word\b|\bour word\b|\bword of hono(?:u)?r\b|\b(?:i|we) (?:swear|pledge|vouch)\b|\bpledge\b"
    r"|\b(?:i|we) (?:can )?assure you\b[^.!?\n]{0,60}\b(?:will|won't|never|always|last|work)\w*"
    r"|\bassured\b[^.!?\n]{0,40}\b(?:done right|(?:will|'ll) work|be fixed|last|never (?:break|fail|leak))"
    r"|\b(?:results?|quality|satisfaction|success) (?:is |are )?assured\b|\bsatisf\w+ (?:assured|guaranteed|promised|or\b)"
    r"|\bor (?:else )?(?:you |you'll |you will )?(?:pay nothing|don't pay|do not pay|won't pay|owe nothing|"
    r"owe us nothing|pay zero|get (?:all )?your money back)\b|\bor (?:it's|it is|the \w+ is|the \w+'s) (?:free|on us)\b"
    r"|\bor your money back\b|\bno (?:fix|cure|results?|win|job)[,\s]+no (?:fee|charge|pay)\b"
    r"|\b(?:beat|beats|beating|undercut\w*)\s+(?:any|every|all|their|that|the|your|a|an)\s+(?:[\w'’]+\s+){0,2}?"
    r"(?:price|quote|offer|estimate|deal|competitor|rate)s?\b|\bmatch (?:any|every|their|a competitor|competitor)"
    r"|\b(?:lowest|cheapest|best) prices? (?:in town|around|anywhere|guaranteed)\b|\bunbeatable\b"
    r"|\b(?:can't|cannot|won't) be beaten\b|\bno questions asked\b|\bwe stand (?:behind|by) (?:our|the|every|all|it)\b"
    r"|\b(?:count|bank|depend) on it\b|\bwithout fail\b",
    _I,
)
_UNDER_WARRANTY = re.compile(  # "is it still under warranty?" asks; it does not promise
    r"\b(?:still |currently )?(?:under|covered by|within) (?:the |a |its |their |your )?(?:manufacturer'?s? )?"
    r"warrant(?:y|ies)\b",
    _I,
)

# --- dates and times -----------------------------------------------------------------------------
_CLOCK = r"(?:\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midday)"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = (
    rf"(?:today|tonight|tomorrow|this (?:morning|afternoon|evening)|(?:this |next |on |coming )?{_WEEKDAY}"
    rf"(?:\s+(?:morning|afternoon|evening|night))?|the \d{{1,2}}(?:st|nd|rd|th)|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?\b)"
)
_DATE_WORD = (
    rf"(?:{_DAY}|(?:this|next|the|by the|over the|on the) (?:week|weekend)\b|weekend|next month|"
    rf"\bby\s+\d|\bat\s+\d|{_CLOCK}|end of (?:the |this |next )?(?:day|week|month)|eod\b|close of business|"
    r"within (?:the |a |an |one |two |three |\d+ |a few |a couple of )?(?:hours?|days?|business days?|weeks?|minutes?)|"
    r"in (?:a|an|one|two|three|four|five|a few|a couple(?: of)?|\d+)\s+(?:minutes?|mins?|hours?|hrs?|days?|"
    r"business days?|weeks?)\b|by (?:then|noon|midday|lunch\w*|(?:the |this )?(?:morning|afternoon|evening)|close)|"
    r"first thing|same[\s-]day|next[\s-]day|asap|right away|straight away|immediately|in no time|later today)"
)
_SUBJECT = (
    r"(?:we'll|we will|i'll|i will|we can|i can|we could|i could|we're|we are|we'd|i'd|they'll|he'll|she'll|"
    r"(?:tech|technician|crew|team|someone|somebody|driver|engineer|installer|plumber|electrician)\s+"
    r"(?:will|can|could|should|is going to)|(?:it|your \w+) will|(?:it|your \w+)'ll|will be|going to|able to)"
)
_CREW = (
    r"(?:someone|somebody|a tech|a technician|an engineer|the crew|a crew|a team|the team|a plumber|"
    r"one of (?:our|the) \w+|\w+)"
)
_DONE = r"(?:done|ready|fixed|installed|sorted|running|working|back|finished|repaired|replaced|serviced|cleaned|up)"
_VISIT = (
    r"(?:be (?:there|here|out|over|round|with you|ready|done|delivered|fixed|finished|installed|arriving|back)|"
    rf"come(?! back to you)|arrive|get (?:there|to you|it done)|get (?:it|this|that|everything|\w+) {_DONE}|"
    rf"get {_CREW} (?:out|there|over|round|to you)|get you (?:in|booked|scheduled|seen|sorted|fitted in)|"
    r"(?:fit|squeeze|slot|book|pencil) you in|deliver|ship|fix|install|repair|replace|service|finish|complete|"
    rf"start|begin|swap|have (?:it|this|that|everything|the \w+|your \w+) (?:\w+ )?{_DONE}|"
    rf"have {_CREW} (?:out|there|over|round|with you)|see you|visit|send (?:someone|somebody|a tech|a technician|"
    r"an engineer|the crew|a crew|one of)|show up|swing by|stop by|pop (?:by|over|round)|drop by|head (?:over|out)|"
    r"(?:get|send|email) (?:you )?(?:it|this|that|the \w+|your \w+|an? \w+)(?: \w+)? (?:over|across|through|to you))"
)
DATE_PROMISE = re.compile(
    rf"\b{_SUBJECT}\s+(?:\w+\s+){{0,3}}?{_VISIT}\b[^.!?\n]{{0,40}}?\b{_DATE_WORD}"
    rf"|\b(?:expect (?:us|the tech|the technician|the crew|delivery|it)|(?:it|your \w+) (?:ships|arrives|will arrive|"
    rf"will ship|is arriving|goes out))\b[^.!?\n]{{0,25}}\b{_DATE_WORD}"
    rf"|\b(?:booked (?:you )?(?:in )?(?:for|on)|confirmed for|see you (?:on )?|scheduled (?:you )?for|"
    rf"your (?:appointment|visit|booking) is (?:on|at|for))\s*{_DATE_WORD}",
    _I,
)
_SLOT = re.compile(  # a particular day and time offered: "Thursday at 2pm", "2pm on Thursday"
    rf"\b{_DAY}\s*(?:,\s*|\s+at\s+|\s*@\s*|\s+(?:around|about|from|between)\s+)?"
    rf"(?:{_CLOCK}|(?<=at )\d{{1,2}}\b|(?<=around )\d{{1,2}}\b)(?!\s*(?:-|–|to|until|till|through)\s*\d)"
    rf"|\b{_CLOCK}\s+(?:on\s+|this\s+|next\s+)?{_DAY}",
    _I,
)
_HOURS_CONTEXT = re.compile(r"\b(?:open|opens|close|closes|closed|closing|until|till|hours)\b", _I)
_CONFIRM = re.compile(  # words that settle a time mentioned anywhere in the same sentence
    r"\b(?:it's yours|it is yours|is yours|you've got it|(?:you're|you are) (?:all )?(?:set|booked|confirmed|in)|"
    r"lock(?:ed)? (?:you |it )?in|pencil(?:led)? (?:you )?in|put you down|(?:got|have) you down|slot(?:ted)? you in|"
    r"squeeze you in|fit you in|book(?:ed)? you in|(?:is|it's|that's) (?:confirmed|booked|locked in)|see you then|"
    r"see you there|it's a date|we have (?:an? )?(?:opening|slot|space|availability|spot|gap)|"
    r"there's (?:an? )?(?:opening|slot|space|spot|gap)|(?:opening|slot|spot|gap|space)s? (?:open|free|available))\b"
    # a day or time, then words that accept it: "Friday at 10 works for us", "Tuesday is perfect"
    rf"|\b(?:{_DAY}|{_CLOCK})[^.!?\n]{{0,12}}?\b(?:works|would work|is perfect|is great|is fine|is good|is ok(?:ay)?|"
    r"sounds (?:good|great|perfect|fine)|suits us)\b",
    _I,
)
_DATE_ANY = re.compile(rf"\b{_DATE_WORD}", _I)
_PLEASANTRY = re.compile(  # "have a great weekend", "enjoy your Sunday": wishes, not times
    rf"\b(?:have|enjoy)\s+(?:a|the|your)\s+(?:\w+\s+)?(?:weekend|week|day|evening|night|{_WEEKDAY})\b", _I
)
_REPLY_TIME = re.compile(  # when we will write back is a service level, not a visit or a slot
    r"\b(?:get back to you|reply|respond|answer|call you back|be in touch|hear from us|follow up)\b", _I
)

# --- refunds -------------------------------------------------------------------------------------
_CASH = r"(?:money|payment|deposit|cash|charge|fee|amount|penny|cent|dollar|funds)s?"
REFUND_PROMISE = re.compile(
    r"\b(?:we'll|we will|i'll|i will|we've|we have|i've|i have|we're going to|we can|i can|happy to|glad to|will be)\s+"
    r"(?:(?:happily|gladly|go ahead and|be|also|then|now|just|get)\s+){0,2}(?:refund\w*(?! request)|reimburs\w*|"
    r"credit(?:ed)?|return (?:your|the|all) (?:money|deposit|payment)|give you (?:your|the|all) (?:money|deposit)|"
    r"send (?:your|the) (?:money|deposit)|reverse (?:the|that|your) (?:charge|payment|transaction)|pay you back|"
    r"give (?:it|that) (?:all )?back|void (?:the|that) charge)\b"
    r"|\b(?:full|complete|partial)\s+refund\b|\brefund (?:has been|is|was|will be) (?:processed|issued|approved|"
    r"on its way|sent)\b|\byou(?:'ll| will) (?:get|receive|see) (?:a|your|the)\s+(?:full\s+)?(?:refund|money back)\b"
    r"|\bmoney back\b"
    r"|\byou(?:'ll| will|'re going to| are going to)\s+(?:get|receive|have|see)\s+(?:all\s+(?:of\s+)?|every\s+)?"
    rf"(?:your|the)\s+(?:\w+\s+){{0,2}}?{_CASH}\s+(?:back|returned|refunded|reimbursed|credited)\b"
    rf"|\b(?:your|the|all (?:of )?(?:your|the))\s+(?:\w+\s+)?{_CASH}\s+(?:will|'ll|is going to|are going to|shall)\s+"
    r"(?:be\s+)?(?:\w+\s+)?(?:returned|refunded|reimbursed|reversed|credited|paid back|sent back|given back)\b"
    rf"|\b{_CASH}\s+(?:(?:is |are |will )?(?:to be|gets?|getting|being|get))\s+(?:\w+\s+)?(?:returned|refunded|reimbursed|"
    r"paid back|sent back|given back)\b|\b(?:fully |100% )?refundable\b",
    _I,
)

# --- secrets -------------------------------------------------------------------------------------
_SECRET_WORD = (
    r"(?:(?:admin|root|master|wi-?fi|office|staff|system|account|door|alarm|server|database|dashboard)\s+)?"
    r"(?:password|passwd|passcode|passphrase|pass code|pin code|pin number|api[\s_-]?key|secret (?:key|code|word)|"
    r"client secret|access (?:token|key|code)|auth(?:entication)? (?:token|code|key)|bearer token|token|"
    r"credentials?|login details|private key|ssh key|username and password)"
)
SECRET = re.compile(
    rf"\b{_SECRET_WORD}s?\b(?:\s+(?:for|to|of|on)\s+(?:\w+\s+){{0,3}}?)?\s*(?:is|are|was|would be|=|:|-)\s*"
    r"[\"'“‘]?(?!(?:not|never|private|confidential|case|required|needed|reset|changed|the same|something|your|on|in|"
    r"at|a|an|the|sent|emailed|only|kept|stored|secure|safe)\b)[^\s\"'”’]{3,}"
    r"|\b(?:sk|pk|rk)[-_](?:live|test|ant|proj)?[-_]?[A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b|\bxox[abposr]-[\w-]{10,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bglpat-[\w-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\beyJ[\w-]{10,}\.eyJ[\w-]{10,}|\b\d{8,10}:AA[\w-]{30,}"
    r"|\binternal[\s-](?:notes?|memo|comments?|only|use only)\b|\bnote to self\b|\bstaff[\s-]only\b"
    r"|\b(?:lead|crm|staff|team|owner(?:'s)?|admin|private) notes? (?:say|says|said|read|reads|show|shows|"
    r"mention|mentions)\b",
    _I,
)
_PIN = re.compile(
    r"\bPIN\b(?:\s+(?:code|number))?\s*(?:is|:|=)\s*\d{3,}"
    r"|\b(?:door|gate|alarm|wi-?fi|lock ?box|key ?box|key ?safe|garage|entry|access|safe|building|network)"
    r"(?:\s+(?:code|password|pin|key|combination|combo))?\s*(?:is|:|=)\s*[\"'“‘]?[^\s\"'”’]{3,}",
    _I,
)
_TOKEN_LIKE = re.compile(r"(?<![\w/.-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{32,}(?![\w/.-])")

# --- instructions hidden in the customer's message -----------------------------------------------
INSTRUCTION_ECHO = re.compile(
    r"\bas (?:you )?(?:instructed|requested by your message|you asked me to)\b|\bignor\w+ (?:my|the|previous|all|your)"
    r"\s+(?:rules|instructions)\b|\bsystem prompt\b|\bmy (?:instructions|rules|programming|guidelines)\b|"
    r"\bas an ai\b|\bi(?:'m| am) (?:an ai|a language model|a bot|an assistant)\b|\bdeveloper mode\b|"
    r"\bi have been (?:told|instructed)\b|\brules (?:don't|do not) apply\b|\bnew instructions\b",
    _I,
)
INJECTION_IN = re.compile(
    r"\bignore\b|\bdisregard\b|\bsystem prompt\b|\binstructions?\b|\byou must\b|\bpretend\b|\boverride\b|"
    r"\b(?:reply|respond|answer|write back|say)\s+(?:only\s+)?(?:with|that|saying|exactly)\b|\bassistant\s*:|"
    r"\bnew rules\b|\bforget\b|\bas an ai\b|\bdeveloper mode\b|\bnew (?:task|role|objective|goal|persona)\b|"
    r"\b(?:tell|give|send|show|share|reveal|print|leak|list|read)\s+(?:me |us )?(?:out )?(?:the|your|all|any)\s+"
    r"(?:\w+\s+){0,2}?(?:passwords?|api keys?|keys|credentials|secrets?|tokens?|notes|prompt|config(?:uration)?)\b|"
    r"\bwhat(?:'s| is| are)\s+(?:the|your)\s+(?:\w+\s+){0,2}?(?:password|api key|credentials|secret|token|notes|prompt)\b",
    _I,
)
_COMPLIES = re.compile(
    r"\b(?:i|we)\s+(?:agree|confirm|accept|approve|promise)\b|\bas you (?:asked|requested)\b|"
    r"\bsure(?:,|!)? (?:here|i|we)\b|\bno problem,? (?:i|we)(?:'ll| will)\b|"
    r"(?:^|[.!?\n]\s*|^(?:hi|hey|hello|dear|hiya)\b[^,\n]{0,30},\s*)(?:yes|yep|yeah|sure|ok|okay|done|certainly|"
    r"absolutely|here (?:it is|you go|they are))\b",
    _I,
)
_QUOTED = re.compile(r"[\"“']([^\"”']{6,120})[\"”']")
MARKDOWN = [
    (re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"), "bold markers"),
    (re.compile(r"(?m)^\s{0,3}#{1,6}\s+\S"), "a heading"),
    (re.compile(r"\[[^\]\n]+\]\((?:https?://|www\.)[^)\s]+\)"), "a markdown link"),
    (re.compile(r"`[^`\n]+`"), "code backticks"),
    (re.compile(r"(?m)(?:^\s*[-*+]\s+\S.*\n){1,}^\s*[-*+]\s+\S"), "a bullet list"),
    (re.compile(r"(?m)(?:^\s*\d+[.)]\s+\S.*\n){1,}^\s*\d+[.)]\s+\S"), "a numbered list"),
    (re.compile(r"(?<![\w*])\*[^*\s][^*\n]{0,80}[^*\s]\*(?![\w*])"), "italic markers"),
    (re.compile(r"~~[^~\n]+~~"), "strike-through"),
    (re.compile(r"(?m)^>\s"), "a block quote"),
]
_URL = re.compile(
    r"\b[a-z][a-z0-9+.-]{1,15}://[^\s<>()\"']+|\bwww\d{0,3}\.[^\s<>()\"']+"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}(?:[a-z]{2,24}|xn--[a-z0-9-]{2,59})(?![\w-])(?::\d{2,5})?"
    r"(?:/[^\s<>()\"']*)?"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{2,5})?(?:/[^\s<>()\"']*)?",
    _I,
)
_SCRIPT_URL = re.compile(r"\b(?:javascript|vbscript|data):", _I)
_NOT_TLDS = re.compile(  # file names, not domains: "photo.jpg", "quote.pdf"
    r"jpe?g|png|gif|heic|webp|bmp|tiff?|svg|pdf|docx?|txt|csv|xlsx?|pptx?|odt|rtf|mp3|mp4|m4a|wav|avi|mkv|json|xml|"
    r"ya?ml|log|exe|dmg|js|ts",
    _I,
)
_SPOKEN_TLDS = r"(?:com|net|org|io|co|xyz|info|biz|gov|edu|me|us|uk|ru|cn|app|site|online|shop|link|click|top|dev|ai|ly|to)"
_REFANG = (
    (
        re.compile(
            r"\s*(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}|<\s*(?:\.|dot)\s*>)\s*", _I
        ),
        ".",
    ),
    (re.compile(r"\[\s*:\s*\]|\(\s*:\s*\)"), ":"),
    (re.compile(r"\[\s*://\s*\]"), "://"),
    (re.compile(r"\[\s*/\s*\]"), "/"),
    (re.compile(r"\bh(?:xx|\*\*|tt|XX)p(s?)(?=:)", _I), r"http\1"),
    (re.compile(rf"(?<=[a-z0-9])\s+dot\s+(?={_SPOKEN_TLDS}\b)", _I), "."),
)
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def check_draft(
    draft_text: str,
    business: Business,
    *,
    inbound_text: str,
    triage: Triage,
    channel: Channel,
    max_chars: int | None,
    incentive: Incentive | None = None,
    booked: str | None = None,
) -> GuardrailResult:
    """Every reason the draft may not go out on its own; ok when there is none. `incentive`: the
    one time-limited offer this draft (a cadence step's) may make. `booked`: the words of a visit
    the team booked (domain.followup.visit_words); restating exactly them promises nothing new,
    any other day or time still does."""
    reasons: list[str] = []
    text = draft_text or ""
    if not text.strip():
        return GuardrailResult(False, ("the draft is empty",))
    checked = _without_business_words(text, business)
    for words in sorted({booked, booked.split(", ", 1)[-1]} if booked else (), key=len, reverse=True):
        checked = re.sub(re.escape(words), "the booked time", checked, flags=re.IGNORECASE)
    reasons += _prices(checked, business, triage)
    reasons += _refunds(checked, business, triage)
    if not business.allow_discounts:
        offers = _discounts(checked, business)
        if incentive is not None and offers:
            reasons += incentive_problems(checked, offers, incentive)
        else:
            for offer in offers:
                reasons.append(f"offers a discount ('{offer}'), which your policy does not allow")
    if not business.allow_guarantees and (promise := _guarantee(checked)):
        reasons.append(f"makes a guarantee ('{promise}'), which your policy does not allow")
    if not business.allow_date_promises and (when := _date_promise(checked, inbound_text, triage)):
        reasons.append(f"promises a date or time ('{when}'), which your policy does not allow")
    reasons += _links(text, business)
    injected = triage.has(SignalName.PROMPT_INJECTION) or INJECTION_IN.search(inbound_text or "") is not None
    reasons += _ungrounded(checked, business, inbound_text or "", injected)
    reasons += _secrets(text)
    reasons += _injection(text, inbound_text, triage)
    if not any("echoes" in r for r in reasons) and (echo := _shared_run(inbound_text or "", text, 7)):
        # An automatic message carries the business's words only: what a stranger typed (a lure,
        # someone else's address in a form) never goes back out on its own.
        reasons.append(f"repeats the customer's own words ('{echo}'); a person checks it first")
    limit = (
        max_chars if max_chars is not None else (defaults.SMS_MAX_CHARS if channel == Channel.SMS else None)
    )
    if limit is not None and len(text) > limit:
        reasons.append(f"{len(text)} characters, over the {limit}-character limit for {channel.value}")
    if channel in PLAIN_TEXT_CHANNELS:
        found = [label for pattern, label in MARKDOWN if pattern.search(text)]
        if found:
            reasons.append(f"uses markdown ({', '.join(found)}) in a plain-text {channel.value} message")
    return GuardrailResult(not reasons, tuple(dict.fromkeys(reasons)))


def _without_business_words(text: str, business: Business) -> str:
    """Remove the business's own FAQ sentences: their words are the owner's, not the model's promises."""
    for answer in business.faq.values():
        for sentence in _sentences(answer or ""):
            if len(sentence) > 12:
                text = re.sub(re.escape(sentence.rstrip(".!?")) + r"[.!?]?", " ", text, flags=re.IGNORECASE)
    return text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _service_named(sentence: str, business: Business, name: str) -> bool:
    low = sentence.lower()
    for s in business.services:
        if s.name == name:
            words = (*s.keywords, s.name.lower())
            return any(re.search(rf"(?<![\w/]){re.escape(w)}(?![\w/])", low) for w in words)
    return False


def _prices(text: str, business: Business, triage: Triage) -> list[str]:
    """Each amount must be a listed price next to its own service, or the customer's own refund amount."""
    reasons = []
    listed = [(s.name, s.price) for s in business.services if s.price is not None]
    refund = triage.extracted.refund_amount
    for sentence in _sentences(text):
        for money in extract_money(sentence, business.currency):
            if refund is not None and _same(money, refund):
                continue  # the customer's amount restated; _refunds decides whether a promise is allowed
            owners = [name for name, price in listed if price is not None and _same(money, price)]
            if not owners:
                reasons.append(f"quotes {money}, which is not in your price list")
            elif not any(_service_named(sentence, business, n) for n in owners):
                reasons.append(f"quotes {money} without naming the service it is the listed price of")
        if not extract_money(sentence, business.currency):
            for m in _BARE_PRICE.finditer(sentence):
                value = m.group(1).replace(",", ".")
                if not any(p is not None and str(p.amount.normalize()) == value for _, p in listed):
                    reasons.append(
                        f"mentions a price-like figure ('{m.group(0).strip()}') not in your price list"
                    )
    return reasons


def _same(a: Money, b: Money) -> bool:
    return a.currency == b.currency and a.amount == b.amount


def _refunds(text: str, business: Business, triage: Triage) -> list[str]:
    """A refund may be promised only for a known amount within the owner's threshold."""
    m = REFUND_PROMISE.search(text)
    if not m:
        return []
    threshold = business.refund_threshold
    amounts = extract_money(text, business.currency) or (
        [triage.extracted.refund_amount] if triage.extracted.refund_amount else []
    )
    if not amounts:
        return [f"promises a refund ('{m.group(0)}') with no amount the owner has approved"]
    reasons = []
    for money in amounts:
        if money.currency != threshold.currency or money.amount > threshold.amount:
            reasons.append(f"promises a refund of {money}, beyond your {threshold} refund threshold")
    if triage.category != Category.REFUND_REQUEST and not reasons:
        reasons.append(f"promises a refund ('{m.group(0)}') the customer did not ask for")
    return reasons


_APOLOGY = re.compile(r"\b(?:sorry|apolog\w*|fault|mistake|mix-?up|delay|blame|my bad|our bad)\b", _I)


@dataclass(frozen=True)
class Incentive:
    """The policy's allowance for a cadence step's offer: at most `percent` off, and only for a
    limited time (`valid_h` hours), which the draft must say."""

    percent: int
    valid_h: int

    def words(self) -> str:
        return f"{self.percent}% off if you order within {self.valid_h} hours"


_PERCENT_OFF = re.compile(r"(\d{1,3})\s?(?:%|percent|per\s?cent)\s+off\b", _I)
_TIME_LIMIT = re.compile(r"\b(?:within|for the next|until|before|expires?|ends?|valid for|only for)\b", _I)


def incentive_problems(text: str, offers: list[str], incentive: Incentive) -> list[str]:
    """An offer passes only as the allowance: percent off, no more than allowed, time-limited."""
    problems = []
    for offer in offers:
        m = _PERCENT_OFF.search(offer)
        if m is None:
            problems.append(f"offers '{offer}', not the policy's incentive ({incentive.words()})")
        elif int(m.group(1)) > incentive.percent:
            problems.append(f"offers {m.group(1)}% off, more than the policy's {incentive.percent}%")
    if not problems and not _TIME_LIMIT.search(text):
        problems.append("offers the incentive without its time limit")
    return problems


def _discounts(text: str, business: Business) -> list[str]:
    """Money off or something for nothing; 'free X' passes only where the owner's own words make X free."""
    found = [
        m.group(0).strip()
        for sentence in _sentences(text)
        for m in DISCOUNT.finditer(sentence)
        # "sorry about the delay, that's on us" owns a mistake; it gives nothing away
        if not (m.group(0).lower().endswith("on us") and _APOLOGY.search(sentence))
    ]
    owner_free = _owner_free_things(business)
    for m in _FREE.finditer(text):
        before, after = text[max(0, m.start() - 60) : m.start()], text[m.end() : m.end() + 60]
        if m.group(0).lower() == "free" and (
            _FREE_AVAILABLE_AFTER.match(after)
            or _FREE_NOT_PRICE_BEFORE.search(before)
            or re.search(rf"\b{re.escape(business.owner_name)}(?:'s| is| will be)\s+$", before, _I)
        ):
            continue  # "feel free", "toll-free", "are you free on Tuesday": not a price
        things = _free_neighbours(before, after)
        if things and any(t in owner_free for t in things):
            continue
        found.append(_phrase(before, m.group(0), after))
    return list(dict.fromkeys(found))


def _stem(word: str) -> str:
    w = word.lower().strip("-'")
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def _content_words(words: list[str]) -> list[str]:
    """Words up to the first small word: 'estimates for homeowners' → ['estimates']."""
    out = []
    for w in words:
        if _FREE_STOP.fullmatch(w):
            break
        out.append(w)
    return out


def _free_neighbours(before: str, after: str) -> list[str]:
    """The thing said to be free: the words right after 'free', else right before ('first visit free')."""
    nxt = _content_words(re.findall(r"[\w'-]+", after)[:3])
    if nxt:
        return [_stem(w) for w in nxt]
    prev = re.findall(r"[\w'-]+", before)[-4:]
    prev = [
        w
        for w in prev
        if w.lower() not in {"is", "are", "be", "comes", "come", "for", "completely", "totally"}
    ]
    return [_stem(w) for w in prev[-2:] if not _FREE_STOP.fullmatch(w)]


def _owner_free_things(business: Business) -> set[str]:
    """What the owner's own words say is free: 'free estimates', 'Estimates are free', a service priced 0."""
    things: set[str] = set()
    texts = [*business.faq.values(), *(s.price_note or "" for s in business.services)]
    for t in texts:
        for m in re.finditer(r"\bfree\s+((?:[\w'-]+\s*){1,3})", t, _I):
            things.update(_stem(w) for w in _content_words(re.findall(r"[\w'-]+", m.group(1))))
        for m in re.finditer(
            r"\b([\w'-]+)\s+(?:is|are)\s+(?:always\s+|completely\s+|totally\s+)?free\b(?!\s+to\b)", t, _I
        ):
            if not _FREE_STOP.fullmatch(m.group(1)):
                things.add(_stem(m.group(1)))
    for s in business.services:
        if s.price is not None and s.price.amount == 0:
            things.update(_stem(w) for w in (*s.name.split(), *s.keywords))
    return things


def _phrase(before: str, word: str, after: str) -> str:
    head = " ".join(re.findall(r"\S+", before.split("\n")[-1])[-2:])
    tail = " ".join(re.findall(r"\S+", after.split("\n")[0])[:2])
    return re.sub(r"[\s.,!?;:]+$", "", f"{head} {word} {tail}".strip())


def _guarantee(text: str) -> str | None:
    """A promise of outcome; asking whether the customer's unit is under warranty is not one."""
    for sentence in _sentences(text):
        for m in GUARANTEE.finditer(sentence):
            asks = sentence.rstrip().endswith("?") and _UNDER_WARRANTY.search(sentence)
            if not (asks and m.group(0).lower().startswith("warrant")):
                return m.group(0)
    return None


def _date_promise(text: str, inbound: str, triage: Triage) -> str | None:
    """A visit, delivery or slot tied to a day or time; asking which day suits the customer is fine."""
    for m in DATE_PROMISE.finditer(text):
        # "We'll get back to you within the hour" is a reply time; without those words nothing is left
        if DATE_PROMISE.search(_REPLY_TIME.sub(" ", m.group(0))):
            return m.group(0).strip()
    asked = " ".join((inbound or "", triage.extracted.requested_time or "")).lower()
    asked = re.sub(r"\s+", " ", asked)
    for sentence in _sentences(text):
        for m in _SLOT.finditer(sentence):
            said = re.sub(r"\s+", " ", m.group(0).lower().strip())
            if said in asked or _HOURS_CONTEXT.search(sentence[: m.start()]):
                continue  # the customer's own time restated, or opening hours
            return m.group(0).strip()
        c = _CONFIRM.search(sentence)
        settled = _PLEASANTRY.sub(" ", sentence)
        d = _DATE_ANY.search(settled) if c and not sentence.rstrip().endswith("?") else None
        if c and d and not _REPLY_TIME.search(settled):
            return sentence[min(c.start(), d.start()) : max(c.end(), d.end())].strip()
    return None


def allowed_domains(business: Business) -> set[str]:
    domains = {d.lower().lstrip(".") for d in business.allowed_link_domains}
    for url in (business.booking_link, business.website, business.review_link):  # the owner's own links
        if url:
            host = urlparse(url if "://" in url else f"https://{url}").hostname
            if host:
                domains.add(host.lower().removeprefix("www."))
    if "@" in business.email:
        domains.add(business.email.rsplit("@", 1)[1].lower())
    return domains


def _host_allowed(host: str, allowed: set[str]) -> bool:
    host = host.lower().rstrip(".").removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in allowed)


def _refang(text: str) -> str:
    """'hxxp://evil[.]com' → 'http://evil.com', 'pay dot xyz' → 'pay.xyz'."""
    for pattern, repl in _REFANG:
        text = pattern.sub(repl, text)
    return text


def _links(text: str, business: Business) -> list[str]:
    allowed = allowed_domains(business)
    reasons = []
    text = _refang(text)
    for m in _EMAIL.finditer(text):
        if not _host_allowed(m.group(1), allowed):
            reasons.append(f"gives an email address at {m.group(1)}, which is not an allowed domain")
    bare = _EMAIL.sub(" ", text)
    if m := _SCRIPT_URL.search(bare):
        reasons.append(f"contains a {m.group(0)} link")
    for m in _URL.finditer(bare):
        raw = m.group(0).rstrip(".,;:!?)'\"")
        has_scheme = "://" in raw
        host = urlparse(raw if has_scheme else f"http://{raw}").hostname or raw
        if not has_scheme and not raw.lower().startswith("www") and not re.fullmatch(r"[\d.:/]+.*", raw):
            tld = raw.split("/", 1)[0].split(":", 1)[0].rsplit(".", 1)[-1]
            if tld not in (tld.lower(), tld.upper()) or _NOT_TLDS.fullmatch(tld):
                continue  # "Thanks.See", "photo.jpg": a typo or a file name, not a link
        if "@" in raw or not _host_allowed(host, allowed):
            reasons.append(f"links to {host}, which is not an allowed domain")
    return reasons


_DIGITS = re.compile(r"\d+")
_CODE_LIKE = re.compile(r"(?<![\w@/.-])(?=[A-Za-z_-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]{2,}(?![\w@/])")
_UNIT = re.compile(
    r"^\d+(?:[.,]\d+)?(?:am|pm|st|nd|rd|th|h|hr|hrs|min|mins|s|k|x|ft|m|km|mi|kw|kwh|btu|v|w|yr|yrs|mo|%)?$",
    _I,
)
_CODE_WORD = re.compile(
    r"\b(?:code|coupon|voucher|promo|password|passcode|pin)\s*(?:is\s+|:\s*|=\s*)?[\"'“‘]?([A-Za-z0-9][\w-]{3,})",
    _I,
)
_CLOCK_BEFORE = re.compile(r"\b(?:at|by|around|before|after|from|until|till|to)\s+$", _I)
_NUMBERISH = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _business_words(business: Business) -> str:
    """Everything the owner wrote: the only source of numbers and codes a draft may pass on."""
    parts = [
        business.name,
        business.owner_name,
        business.email,
        business.phone or "",
        business.booking_link or "",
        business.website or "",
        business.signature or "",
        str(business.refund_threshold.amount),
        *business.faq.values(),
        *business.voice_examples,
        *business.allowed_link_domains,
    ]
    for service in business.services:
        parts += [service.name, *service.keywords, service.price_note or ""]
        if service.price is not None:
            amount = service.price.amount
            parts += [str(amount), f"{amount:,}", str(int(amount)) if amount == int(amount) else ""]
    for start, end in business.hours.days.values():
        for t in (start, end):
            parts += [f"{t:%H:%M}", str(t.hour), str(t.hour % 12 or 12)]
    return " ".join(parts)


_MEASURE = re.compile(
    r"^\s*(?:%|percent|per\s?cent|am\b|pm\b|a\.m\.|p\.m\.|o'clock|minutes?|mins?|hours?|hrs?|h\b|days?|weeks?|"
    r"months?|years?|yrs?|sq\b|square|ft\b|feet|foot|inch|inches|miles?|km|degrees?|°|seer|tons?|bedrooms?|"
    r"bathrooms?|rooms?|stor(?:ey|y|ies)|floors?|units?|people|kw|btu|gallons?|litres?|liters?)",
    _I,
)


def _ungrounded(text: str, business: Business, inbound: str, injected: bool) -> list[str]:
    """A bare number (two digits or more) or a code found nowhere in the owner's own words: a price,
    a discount code, a door code or a "deal" the model made up or was told to say. Money amounts
    are _prices' and _refunds' to judge; times, measures and percentages ("2pm", "24 hours", "50%")
    pass; so does what the customer wrote themselves (an order number), unless their message
    tries to instruct the assistant, when only the owner's words count."""
    own = _business_words(business)
    grounded = {n.replace(",", "") for n in _NUMBERISH.findall(own)}
    own_tokens = {t.lower() for t in re.findall(r"[\w-]+", own)}
    # A small number they wrote (a day, an hour, a count) may be restated; a bare price or code not.
    grounded |= {n for n in _DIGITS.findall(inbound) if int(n[:6]) <= 31}
    if not injected:  # their order number or reference, never a bare number ("the price is 199")
        refs = _CODE_LIKE.findall(inbound)
        own_tokens |= {t.lower() for t in refs}
        grounded |= {n for t in refs for n in _DIGITS.findall(t)}
    body = _URL.sub(" ", _EMAIL.sub(" ", text))
    reasons = []
    for token in _CODE_LIKE.findall(body):
        if token.lower() not in own_tokens and not _UNIT.match(token) and not _DIGITS.fullmatch(token):
            reasons.append(f"gives a code ('{token}') that is not in your business details")
            break
    for m in _CODE_WORD.finditer(body):
        code = m.group(1)
        looks_like_code = any(c.isdigit() for c in code) or (code.isupper() and len(code) >= 4)
        if looks_like_code and code.lower() not in own_tokens:
            reasons.append(f"gives a code ('{code}') that is not in your business details")
            break
    for m in _NUMBERISH.finditer(body):
        number = m.group(0).rstrip(".,")
        plain = number.replace(",", "")
        whole = plain.split(".")[0]
        before, after = body[max(0, m.start() - 1) : m.start()], body[m.end() :]
        if len(whole.lstrip("0")) < 2 or plain in grounded or whole in grounded:
            continue
        clock = _CLOCK_BEFORE.search(body[max(0, m.start() - 8) : m.start()]) and int(whole[:6]) <= 24
        if before in ("$", "€", "£", ":", "#") or after[:1] == ":" or _MEASURE.match(after) or clock:
            continue  # money (judged by _prices/_refunds), a clock time, a measure
        reasons.append(f"mentions {number}, which is nowhere in your price list, FAQ or hours")
        break
    return reasons


def _secrets(text: str) -> list[str]:
    """A password, key, token or internal note never goes to a customer."""
    without_links = _URL.sub(" ", _refang(text))
    m = SECRET.search(text) or _PIN.search(text) or _TOKEN_LIKE.search(without_links)
    if not m:
        return []
    return [f"reveals what looks like a password, key or internal note ('{m.group(0).strip()}')"]


def _injection(draft: str, inbound: str, triage: Triage) -> list[str]:
    """The draft must not carry out what the customer's message told the assistant to do."""
    reasons = []
    if m := INSTRUCTION_ECHO.search(draft):
        reasons.append(f"talks about instructions or being an AI ('{m.group(0)}')")
    injected = triage.has(SignalName.PROMPT_INJECTION) or INJECTION_IN.search(inbound or "") is not None
    if not injected:
        return reasons
    low = draft.lower()
    for quoted in _QUOTED.findall(inbound):
        if quoted.lower().strip() in low:
            reasons.append(f"repeats text the customer's message told it to say ('{quoted.strip()}')")
    echo = _shared_run(inbound, draft, 5)
    if echo:
        reasons.append(f"echoes the instruction hidden in the customer's message ('{echo}')")
    if _COMPLIES.search(draft.strip()):
        reasons.append("agrees to a demand from a message that tries to instruct the assistant")
    return reasons


def _shared_run(a: str, b: str, n: int) -> str | None:
    """The first run of n words the two texts share (case and punctuation ignored)."""
    wa = re.findall(r"[a-z0-9$€£']+", a.lower())
    wb = " " + " ".join(re.findall(r"[a-z0-9$€£']+", b.lower())) + " "
    common = {"thanks for", "let me know", "get back to you", "as soon as"}
    for i in range(len(wa) - n + 1):
        run = " ".join(wa[i : i + n])
        if f" {run} " in wb and not any(c in run for c in common):
            return run
    return None
