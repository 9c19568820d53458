"""Hand-written evaluation phrasings, written separately from train_templates.py.

Different sentences and sentence shapes from the training templates, so the benchmark
measures generalisation rather than memory. Format as in train_templates.py.
"""

from __future__ import annotations

from bench.triage.datagen.common import parse_templates

RAW: dict[str, str] = {
    "sales_inquiry": """
Hey! Wondering if {svc} is something your team offers
home|Moving into a new {place} in May and we'll need {svc}. Is that your kind of job?
clinic|My family just moved to town. Is the {place} accepting new patients at the moment?
home|Hoping to get someone out to quote {svc}, we're about 20 min from downtown
retail|Do you stock {product}s or only sell online?
finance|Interested in opening a {svc} with you, what's the process like?
auto|Looking for a reliable garage for {svc}, do you take walk-ins or new clients?
salon|First time here - do you do {svc}?
Could you tell me a bit about your {svc} service? Thinking of going ahead this spring
A friend said you're the people to ask about {svc}
We manage a few buildings for {company} and are shopping around for {svc}
home|Our {product} finally died. Would you be able to quote a replacement?
Any chance you could help me with {svc}? Never used you before
I run {company} and we're after a regular {svc} provider
finance|Considering switching my {svc} over from {competitor}, what can you offer?
clinic|Does your {place} do {svc}? Looking to book my son in as a new patient
home|Need someone to take on a {svc} project next month - interested?
Hi, new customer here, need a quote for {svc} for our {place}
retail|Looking to place a big order of {product}s for a corporate event, can you handle that?
""",
    "lead_reply": """
{day} at {time} is good for me
Yeah that'd be great
ok sounds like a plan
Cheers, that answers it
Yes - it's a two storey {place}
Nope, just the one
Fine by me
Great stuff, go for it
Lovely, thank you
We're flexible on timing
Yep, still keen
Ah perfect, thanks {name}
It's a 2008 model if that helps
Ok let me check with my partner and come back to you
Brilliant, talk soon
I think the afternoon is better
Yes that's the address
Noted, thanks
Good to know!
Sure thing
""",
    "routine_question": """
What days are you closed?
Is there somewhere to park nearby?
Do you guys take Amex?
How late are you open on Friday?
Where exactly is your {place}? Can't find it on the map
Is your {place} accessible with a stroller?
Do I have to print anything before my {thing}?
What happens if I need to cancel - is there a policy?
retail|Can I return something bought online in the {place}?
clinic|Is my insurance plan something you work with?
finance|Which ID do you need to open an account?
Do you go as far as the suburbs?
Can I pay with cash?
Are your {staff}s certified?
Roughly how long does a {svc} take?
Are you open over Christmas?
Do you have evening hours?
retail|Do you deliver to PO boxes?
What's the best email to reach you on?
""",
    "status_inquiry": """
Hi, checking in on {ref} - haven't heard anything
retail|It's been 10 days and {ref} still says processing
Has the {staff} left yet? Supposed to be here at {time}
finance|Still no sign of my {thing}, when should it arrive?
clinic|Have my {thing} come through yet?
Any idea when my {thing} will be ready?
retail|The tracking hasn't updated in a week, what's going on with {ref}?
Just wondering if my {thing} for {day} is still confirmed
auto|Is the {product} job on my car finished yet?
Did my payment for {ref} go through on your end?
home|Was the part for my {product} ordered yet?
Still waiting on that estimate - any progress?
finance|Has my {thing} cleared?
Can you confirm you got my documents?
retail|When does {ref} ship?
Any update on my refund from last week?
What's happening with my {thing}?
""",
    "pricing_question": """
Roughly what would {svc} set me back?
What's the cost of {svc} these days?
Is there a charge if I cancel the day before?
Any discounts for first-time customers?
What do you guys charge per hour?
retail|What's shipping cost for {product}s?
finance|What's the APR on a {svc}?
finance|Is there a fee for international transfers?
clinic|What's the self-pay price for a {svc}?
auto|Ballpark price for {svc}?
salon|How much would {svc} be for long hair?
Are quotes free or do you charge for them?
Do you charge extra for evenings?
Is there a call out charge?
How pricey is {svc}?
What's the fee for rescheduling?
Is the {product} on sale right now?
""",
    "booking": """
Could you fit me in {day} around {time}?
I'd like to grab a slot for {svc} - {day} maybe?
Need to push my {thing} to {day} if possible
Can we make it {time} instead of the morning?
Is there any availability {day}? I'd like to come in
Please pencil me in for {day} at {time}
Want to set up a {svc} - when's your next opening?
clinic|I'd like an appointment with the {staff} on {day}
auto|Can I bring the car in {day} at {time}?
salon|Book me with {name} on {day}, anytime after {time}
finance|Can I meet with an {staff} at the branch {day}?
home|Could a {staff} swing by {day} around {time}?
Reschedule {ref} to {day} please
Can I move my slot from {day} to {day}?
Would {day} {time} work for you to come out?
""",
    "complaint": """
Really not happy - the {staff} didn't show and no one called
The {product} you sold me fell apart within a week
Your {staff} was incredibly rude on the phone
I got billed for something I never ordered
Been waiting weeks and still nothing, this is awful service
home|There's water all over the {place} since your {staff} left
retail|The {product} I received is a completely different color than pictured
Shocking customer service, nobody answers emails
The job wasn't finished and the {staff} just left
finance|Your app keeps double charging me and nobody fixes it
clinic|Reception was so dismissive of my concerns today
Why is there an extra charge on my bill?
I'll be telling everyone I know to avoid you
auto|My car is making the same noise after paying for the {svc}
This is the second time my {thing} was messed up
salon|My {svc} was uneven and the {staff} didn't care
""",
    "refund_request": """
Can you send back the {amt} I paid? The {svc} never happened
I'd like my {amt} refunded to my card
The {product} is faulty, I'd like my money returned
We went with another company, can we have the deposit back?
I was double charged {amt} - please refund one of them
Refund the {amt} for {ref} please
finance|Please reimburse the {amt} fee you charged in error
How can I get reimbursed for {ref}?
Not happy with the {svc} at all and I want a refund
I'm owed {amt} after the cancellation, please send it
retail|Returning the {product}, how soon will I see my {amt}?
Please credit {amt} back to my account
Can I get some money back since the {staff} only stayed an hour?
I'd like a refund on the {svc}, it wasn't what was promised
""",
    "cancellation": """
I won't be able to make my {thing} {day}, can you cancel it
Please cancel, we've changed our plans
Need to cancel {ref}, sorry
finance|I'd like to close my {svc} with you
Cancel my {svc} subscription please
retail|I no longer want {ref}, please cancel it
We're not going ahead with the {svc} after all
I'd like to end my membership
Can you cancel the rest of my sessions?
clinic|Cancelling my {thing} on {day}, feeling better
Please don't come {day}, we need to cancel
I have to call off the {svc}, something came up
""",
    "opt_out": """
STOP!
please STOP
Stop.
pls remove me from this list
unsub
Dont text this number again
I'd like to opt out of these messages
Take me off all your lists please
Stop emailing me
No more messages thanks
stop sending stuff
I want to unsubscribe
Wrong person, please remove this number
Do NOT message me again
This is harassment, stop contacting me
Enough with the texts, remove me
Cancel these texts
Stop, not interested
""",
    "human_request": """
I'd like to speak to an actual human
Is there a real person I can chat with?
Could somebody give me a ring?
I need a manager, now
Please have {name} phone me when free
Can I get a call back this afternoon?
I'd prefer to talk this through with someone on the phone
Put me through to a person
Can the owner get in touch with me directly?
Who do I talk to? I want a person not a bot
Can someone from your team call me?
Speak to human
""",
    "spam": """
Boost your Google Maps ranking today - first month free!
Dear business owner, we offer SEO and web design at unbeatable prices
You have been selected for a $1000 Walmart voucher, claim now
URGENT: your mailbox is full, log in here to keep receiving mail
We have a database of homeowners ready to buy, want a sample?
Make money fast with this one simple trick
Hello sir, I am interested in buying your business, contact me on telegram
Would you like us to manage your Instagram? Packages from $49
Your payment could not be processed, update details at http://pay-verify.info
I can write blog posts for your site, very cheap
Investment opportunity: bitcoin doubler, 100% safe
We'll get you 100 Google reviews guaranteed
""",
    "other": """
Just wanted to say thank you, the team was great
How do I change my password on the portal?
Are there any job openings?
Happy new year!
Sorry, meant to send that to my sister
Can you update the email address you have for me?
Is this still the number for {company}?
Where can I leave feedback about {name}?
My account login keeps failing
Can I get a receipt from last year for my records?
Is the app down?
Do you have a referral program?
ok thanks bye
""",
}


def templates() -> dict[str, list[tuple[str, str]]]:
    """RAW as (domains, text) pairs per category."""
    return parse_templates(RAW)
