"""A second blind hold-out set, written from scratch before the second round of tuning.

Written in one sitting, before any change to the classifier, the rules or the training data of
that round, and scored once with the model as it stood (the 'before' figure) and once after the
final change. Its individual errors are never read and nothing is tuned on it. The phrasings try
to sound like real inboxes: rambling e-mails, SMS shorthand, sarcasm, polite disappointment,
non-native English, questions inside stories, one-word replies, forwarded text, and mixed intents
resolved by the tie-breaks of shared/TRIAGE.md.
"""

from __future__ import annotations

from bench.triage.datagen.common import parse_templates

RAW: dict[str, str] = {
    "sales_inquiry": """
home|hiya so we finally got round to sorting the {place} and my sister in law says you lot are decent for {svc}, any chance you could fit us in sometime next month? no massive rush
wondering if u do {svc} or is that not ur thing
clinic|Good evening. My family have recently relocated from abroad and we search a new {place} for all four of us, do you accept new families?
retail|looking 4 {product} for my dad, 70th bday, anything u would recommend?
finance|My accountant retired and I'm shopping for someone to take over {svc} for my little bakery. Is that something your firm handles?
auto|car's got about 90k miles on it and I reckon it's due a {svc}, never been to you before, can you do it?
home|Quick one - we're buying a place that needs {svc} before we move in. Who would I talk to to get that going?
salon|first time in the area!! need a {svc} before a wedding on the 20th, do you take walk ins or new clients
Forwarded message: "Ask {company} about {svc}" - my boss asked me to reach out, we'd want it for the whole team
I'm comparing a few companies for {svc}. What would working with you look like?
home|The {product} in our {place} is making a grinding noise and our landlord said to find someone. Is that the kind of job you take?
finance|hello, my wife and me want to buy first home, we need {svc}, can you help foreign people also?
retail|do you ship {product}s to Canada? want to order a few
clinic|My GP suggested {svc}, I've never had one. Could I come to you for it?
auto|Hey there! Bought a used car and it needs {svc}, you guys any good at that?
Interested. What do you offer for {svc}?
""",
    "lead_reply": """
tues works
yes please
the blue one
sounds good, what's next?
either is fine tbh
k
morning's better for me, after 9 if poss
Yep - side door, it's unlocked
ya thats the one
ok lets do it
Hmm the second option I think
Great!! Go for it
Just the one, upstairs
we'll be out but my neighbour has a key
perfect ta
Nope, nothing else needed for now
I'm flexible, you pick
about 2 years old I think
Lovely, speak soon
Sure thing. Will have the dogs shut away
""",
    "routine_question": """
what time do u close on fri
Do you guys take Amex or is it cash only?
retail|if I order online can I pick it up in person instead of waiting for delivery
clinic|Is your {place} wheelchair accessible? My mum uses one
Hi, my neighbour asked me to ask you - do you work on Sundays at all?
Do you have a toilet customers can use while they wait
finance|Can someone else go to the {place} on my behalf or does it have to be me?
home|How far out do you go? I'm about 30 miles north of town
Is it ok to bring my kid along, she's 6
salon|do I need to come with clean hair or does it not matter
clinic|What should I bring for a first visit, just ID?
Are your {staff}s insured?
retail|Do you do student discount or no
Out of interest, are you a family business?
auto|Can I leave the car with you overnight if I drop it after hours?
Do you send a text reminder before the {thing} or should I write it down
""",
    "status_inquiry": """
hey just checking in, still no sign of {ref}, did it get lost?
auto|so is the {product} fixed or what, been waiting since {day}
Sorry to chase but did the {staff} manage to order the part?
finance|The {thing} I set up on {day} still shows pending, is something wrong with it or just slow?
retail|tracking hasn't updated in 4 days, is my parcel actually moving
clinic|I gave blood last week, are my {thing} back yet?
Any word on the estimate? We're keen to get going
home|Did the {staff} confirm for {day}? I haven't heard anything
I emailed the signed contract over on {day}, can you confirm you got it?
finance|when does the new {product} arrive, my old one expired yesterday
retail|Order says delivered but it's not here?? where is it
hello, my husband dropped the paperwork in person, is it all processed now?
status of {ref} pls
salon|Has my {thing} gone through? I didn't get a confirmation email
Have you heard back from the insurance about my claim?
Following up on my quote from {day}. Still coming?
""",
    "pricing_question": """
roughly what are we looking at money wise for {svc}
Do you charge extra for evenings or weekends?
home|Is the call out fee taken off the final bill if we go ahead?
how much is it to change my {thing} to another day, is there a fee
finance|What's the monthly fee on the {svc}? I can't find it on the website
retail|how much is shipping to the islands
salon|Is a {svc} priced by hair length or is it one price?
auto|ballpark for {svc} on a 2012 Ford Focus?
clinic|Is there a charge if I miss an {thing}? Just want to know in advance
What do you charge per hour
Are there any discounts if I book two {svc}s together?
finance|What rate would I get on a {svc} at the moment?
Is VAT included in the prices on your site?
home|Do you price by the room or by square footage for {svc}?
clinic|How much is a {svc} without insurance?
""",
    "booking": """
could u squeeze me in {day} around {time}
I'd like to put my name down for a {svc} please, whenever you have space
salon|any chance of a {svc} slot {day}? after work ideally
Need to push my {thing} back a week, something came up
Can we do {time} instead of the morning? Same day
clinic|I'd like to see the same {staff} as last time, is {day} possible?
home|When's the earliest you could send someone for {svc}? We can do any weekday
Just confirming I'm still down for {day} at {time}?
auto|Can I drop the car in {day} first thing for the {svc}
Hi! Booking for two please - me and my daughter, {day} if you have it
Is there anything free {day}? Flexible on time
Could we move it from {day} to {day}? Sorry for the hassle
finance|I'd like to set up a meeting with an {staff} about my {svc}, what slots do you have
Reserve me a spot for {time} {day} pls
""",
    "complaint": """
Well that was a waste of a morning. Your {staff} never turned up and nobody rang to say
Great job guys, really. The {product} you fixed on {day} is broken again
I am very disappointed with how my {thing} was handled, I expected much better from you
THE {staff} WAS SO RUDE TO ME ON THE PHONE
home|The {staff} left mud all over our carpet and a crack in the {product}. Not impressed
Honestly the {svc} was a disaster, worst I've had
I have been charged for a {svc} I didn't receive and no one has explained why
retail|My {product} arrived smashed to bits, box looked like someone sat on it
Three weeks and the {thing} still isn't done. This is not acceptable for a business
clinic|I waited over an hour past my {thing} time and was never once told why
Not happy at all. The {staff} was on the phone the whole time and did a sloppy job
salon|My {svc} came out completely patchy, I look ridiculous
I want to make a formal complaint about the way I was spoken to at your {place}
auto|Picked up the car and now there's a scratch down the door that wasn't there before
Thanks for nothing. Promised a call back twice and nothing
retail|you sent the wrong {product} AGAIN, that's the second time
finance|Why is there a late fee on my statement, I paid on time!!
i dont usually write reviews or complain but this time i must. the {staff} ignore me and talk with colleague whole time
Sarcastic round of applause for your "customer service" 👏
Just so you know, the {svc} we paid for was half done and the {staff} left early
""",
    "refund_request": """
I'd like my money back for the {svc}, it wasn't done properly
pls refund the {amt} ur system took twice
Can I have a refund for the {thing} I couldn't make? I gave plenty of notice
retail|The {product} doesn't work, I want a full refund not an exchange
The {staff} didn't show so I expect the {amt} deposit returned
finance|Your bank took {amt} in fees that were not agreed, please return it to my account
I'm requesting reimbursement of {amt} for the damage your {staff} caused
salon|hated the {svc}, can I get my money back please
I'd like the {amt} credited back to my card
home|we paid {amt} upfront and the job never started. please refund us
Kindly return my payment of {amt}, the order was never delivered
Send back the {amt} or I'm going to my bank for a chargeback
clinic|I was billed {amt} for an {thing} I cancelled, can you refund it?
Could you pay me back the difference? I was charged {amt} more than quoted
""",
    "cancellation": """
i need to cancel {day}, sorry something came up with work
We've decided not to go ahead with the {svc} after all
Please cancel {ref}, I ordered by mistake
Cancel everything, we're moving away
finance|I want to close my {svc} with you
salon|can't make my {svc} {day}, please take me off the book
clinic|Please cancel my {thing}, I'm feeling better now
I no longer need the {svc}, please cancel it
Hi, I'll have to pull out of the {thing} on {day}. Cancel please
retail|Hi can I cancel {ref} before it ships?
We're going with someone else, so please cancel our {thing}
auto|Don't need the {svc} anymore, sold the car. Cancel it
End my membership at the end of this month please
Could you cancel the recurring {svc}? Thanks
""",
    "opt_out": """
stop
Stop.
STOP!!!
stop txting me
pls remove me from ur list
no more messages please
wrong number, stop texting this phone
unsubscribe
leave me alone
do not contact me again
I never signed up for this, remove my number
Please take my email off your mailing list
I don't want any more texts from you
stop sending me promos
Who is this? Stop messaging me
The {staff} was rude and the {svc} was terrible. Don't message me ever again
I've asked three times now: unsubscribe me
don't text me anymore
You've got the wrong person, please delete my number
Enough with the messages. Stop
No thanks, and please don't contact me further
I'd like to opt out of all marketing
Please stop emailing me
""",
    "human_request": """
can i speak to an actual human pls
Is there a person there or is this all automated
I'd rather talk to someone on the phone, can someone ring me
Put me through to the manager please
Could the owner give me a call when he's free?
I don't want to deal with a chatbot, I want a real person
Please have someone phone me back on this number
Can I get {name} on the phone? She helped me last time
Can somebody call me? It's easier to explain by phone
Who's in charge there? I'd like to talk to them directly
I need to speak with a supervisor
Give me a ring when you get a sec
""",
    "spam": """
Congratulations! Your business has been selected for a FREE website audit. Reply YES to claim
Hi, I noticed your website isn't ranking for local searches. We can fix that for $99/month
We have 10,000 verified homeowner emails in your area. Want the list?
URGENT: your account has been suspended. Confirm your password at the link below
I'm a Nigerian prince and need your help transferring funds
Boost your Instagram to 50k followers overnight, guaranteed
Dear owner, we offer cheap merchant processing, switch today and save 40%
Your domain name is expiring! Renew now to avoid losing your website
Hey, want to get more 5 star reviews? Our software automates it
Limited offer: business loans approved in 24 hours, no credit check
Hello, I'm reaching out from an offshore dev team. We build apps for a fraction of the cost
You have a pending package, pay the $1.99 customs fee here
Invest in our new token before it launches, 10x returns
Free trial of our AI receptionist - never miss a call again!
""",
    "other": """
how do i change my email address on my account
lol sorry wrong chat
Just wanted to say happy new year to you all!
Can you send me a copy of last year's invoice for my taxes?
Is {name} still working there? We went to school together
My phone died, this is my new number
Do you know a good electrician? Not for me, asking for a friend
Loved the little christmas card you sent, thank you!
Can I update my address on file
What's the wifi password at your {place}?
Are you hiring at the moment?
I forgot my login for the portal, help
Is this the right number for {company}?
haha my son just told me your van is parked outside our school
Random question but do you sponsor local football teams?
I left my umbrella at your {place} yesterday, did anyone find it?
""",
}


def templates() -> dict[str, list[tuple[str, str]]]:
    """RAW as (domains, text) pairs per category."""
    return parse_templates(RAW)
