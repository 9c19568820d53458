"""Hand-written training phrasings (one per line; 'domains|text', no prefix = any domain).

Never reused by eval_templates.py: the evaluation set is written with other sentences.
"""

from __future__ import annotations

from bench.triage.datagen.common import parse_templates

RAW: dict[str, str] = {
    "sales_inquiry": """
Do you do {svc}?
home|Do you install heat pumps in {place}s?
clinic|Are you taking new patients?
home|Can I get a quote for a new roof?
I'm interested in {svc}, can someone tell me more
Looking for someone to help with {svc} at my {place}
home|Need a {svc} asap, do you service my area?
Hi, I found you on Google. Interested in {svc} for my {place}
Would like an estimate for {svc} please
We are a small company ({company}) looking for {svc}
retail|Do you carry {product}s in size 10?
retail|Do you have {svc} in stock?
finance|I'd like to open a {svc}, how do I start
finance|Thinking about refinancing my mortgage, can you help?
clinic|Do you offer {svc} for kids?
auto|Can you do a {svc} on a 2015 Honda Civic?
salon|Do you do {svc} for weddings?
My neighbour recommended you for {svc}. Can you help us?
{name} here, I need {svc} for our {place}. What are the next steps?
Interested in your services
home|Our {product} is old and we want to replace it, can you come take a look?
Can you send me info about {svc}
home|looking for a quote on {svc}, 3 bed house
Hello, do you work with businesses? We need {svc} for {company}
Saw your ad on Facebook about {svc}, tell me more
Could I get a price for {svc}?
how much would {svc} cost for a {place} my size
Is {svc} something you guys do?
Hoping to get {svc} done this month, are you available
home|We just bought a house and need {svc}
clinic|Looking for a new dentist for my family of four
finance|Do you help small businesses with {svc}?
retail|Can you do bulk orders of {product}s for our office?
""",
    "lead_reply": """
Yes, {day} works
Sounds good, what's next?
Perfect, see you then
ok great thanks
Yes please go ahead
That works for me
Sure, {time} is fine
Yep that's right, it's a {place}
Great, thanks for getting back to me so fast
It's about 1500 sq ft
No, it's just the one unit
Yes the {product} is about 10 years old
Ok I'll fill in the form
Both would be great
Sounds perfect, thank you {name}
Thanks, I'll talk it over with my wife and get back to you
Got it, thanks!
Ok cool
Yes, the address is 14 Pine Street
Awesome, looking forward to it
Morning works better for us
Either is fine honestly
Just the upstairs
Yes I'm the owner
It started last week
Will do, thanks
Alright let's do it
Ok, my number is 512 555 0199
That's great news
Thanks for the info, that helps
Makes sense
Yes we'd like to go ahead
""",
    "routine_question": """
Are you open Sundays?
What's your cancellation policy?
What are your hours?
Where are you located?
Do you take credit cards?
Do you service {place}s outside the city?
What time do you close on Saturdays?
Is there parking at your {place}?
What should I bring to my first {thing}?
Do you accept Apple Pay?
Are you open on public holidays?
What's your return policy?
Do you have wheelchair access?
retail|Do you ship internationally?
clinic|Do you accept insurance?
clinic|Which insurance plans do you take?
finance|What documents do I need to open an account?
finance|What's the routing number for your bank?
What's your address?
Are you licensed and insured?
How long does {svc} usually take?
Do you work weekends?
Is your {place} open late on Thursdays?
Do I need to be home during the {thing}?
Can I pay by check?
What areas do you cover?
Do you offer financing?
What is your warranty policy?
retail|How long does shipping usually take?
Do you have an email address I can send documents to?
Do you have availability in general on weekends?
What languages do your {staff}s speak?
""",
    "status_inquiry": """
Where is my order?
Is my car ready?
Any news on my refund?
Any update on {ref}?
When will my {thing} arrive?
retail|My package hasn't arrived yet, can you check {ref}?
Has my {thing} been confirmed?
Just checking on the status of my {thing}
finance|When will my new card arrive?
finance|Has my transfer gone through?
clinic|Are my {thing} back yet?
home|Is the {staff} still coming today?
Did you receive my payment?
retail|Has {ref} shipped?
What's the status of {ref}?
auto|When will my car be done?
home|When is the {staff} arriving? I've been waiting since {time}
Can you tell me where things are with my {thing}
finance|Did my loan application get approved?
clinic|Is my prescription ready for pickup?
I'm following up on the quote you promised last week
Has anyone looked at my {thing} yet?
Did you get the photos I sent?
retail|Tracking says delivered but nothing here, where is it?
Still waiting to hear back about my {thing}
Is my {thing} still on for {day}?
What time is the {staff} coming {day}?
finance|My direct deposit hasn't shown up, can you check
When can I expect the invoice?
retail|Has my return been processed?
""",
    "pricing_question": """
How much for {svc}?
How much for a 3-bedroom clean?
Is there a fee to cancel?
What do you charge for {svc}?
What are your rates?
How much is a {thing}?
Do you charge a call-out fee?
Is there a discount for seniors?
Do you have any promotions running?
What's the price of the {product}?
How much does it cost to reschedule?
retail|How much is shipping to Canada?
finance|What's the interest rate on a {svc}?
finance|Are there monthly fees on the {svc}?
clinic|How much is a {svc} without insurance?
auto|How much for a {svc} on an SUV?
salon|What's the price for {svc}?
What's your hourly rate?
Is the estimate free?
Do you price match?
Any discount if I book two services?
How much extra for weekends?
What would it cost to add {svc}?
Is there a deposit required and how much?
Is tax included in the price?
Can you give me a ballpark on cost?
Do you charge for travel?
How much is the late fee?
Is there a student discount?
What does the premium package cost?
""",
    "booking": """
Can I come Friday at 10?
Move my appointment to the 16th
Can I book {svc} for {day}?
I'd like to schedule a {thing} for {day} at {time}
Can we reschedule to {day}?
Do you have anything open {day} afternoon?
Please book me in for {day}
I need to change my {thing} time to {time}
Can I get the {time} slot on {day}?
Confirming my {thing} {day} at {time}
Is {day} at {time} available?
I want to book a {svc}
Could you push my {thing} back an hour?
Can I bring my appointment forward to {day}?
clinic|I'd like to see the {staff} {day}
salon|Can I book a {svc} with {name}?
auto|Can I drop my car off {day} morning?
home|Can the {staff} come {day} between {time} and 5?
finance|I'd like to set up a meeting with an {staff} {day}
Any slots left this week?
Put me down for {day} please
Can we lock in {day} at {time}?
I need to move {ref} to a later date
Book me for the earliest slot you have
What's your next available appointment? I'd like to book it
Could we do {day} instead?
I can only do mornings, can we set something for {day}?
""",
    "complaint": """
You charged me twice!
The crew damaged my fence
The {staff} was rude to me
I'm really unhappy with the {svc}
This is the third time I've called and nobody gets back to me
The {product} arrived broken
home|Your {staff} left a mess in my {place}
The work is terrible, the {product} is already leaking again
Why was I charged a late fee? I paid on time
Nobody showed up for my {thing} {day}
retail|You sent me the wrong {product}
Waited two hours and the {staff} never came
Very disappointed with the service
I was overcharged on my last invoice
This is unacceptable
Absolutely the worst experience I've had with a business
Your {staff} scratched my floor
finance|There is a charge on my statement I never made and no one is helping
clinic|I waited 90 minutes past my appointment time
The {product} stopped working after a day
I'm going to leave a 1 star review if this isn't fixed
You guys keep cancelling on me
The {svc} was done badly and now I have to pay someone else to fix it
retail|Package was soaked and the {product} is ruined
Why did you charge my card without asking?
I've been on hold for an hour, this is ridiculous
The quality has really gone downhill
salon|My hair color came out completely wrong
auto|My car came back with a new dent
I am extremely frustrated with how this was handled
""",
    "refund_request": """
I want my {amt} deposit back
You charged me twice, refund it
Please refund {amt}
I'd like a refund for {ref}
Can I get my money back?
I want a full refund
retail|The {product} was broken, I want a refund
Please return the {amt} you took from my card
I was overcharged {amt}, please refund the difference
Refund me now
I cancelled in time so I expect my {amt} back
How do I get a refund for the {svc}?
Please reverse the charge of {amt}
I need the {amt} credited back to my account
The {thing} never happened, I'd like my money back
Can you refund the booking fee?
finance|Please refund the {amt} overdraft fee
clinic|I was billed {amt} for a visit that insurance covered, please refund it
I want the {amt} for the {svc} reimbursed
Can I get a partial refund? The job was half done
Give me back my {amt}
Requesting a refund of {amt} for {ref}
Please put the money back on my card
I'd like to return the {product} for a refund
Refund my deposit please, we went with someone else
I paid {amt} and got nothing, I want it back
""",
    "cancellation": """
Cancel my membership
I can't make Thursday, please cancel
Please cancel my {thing}
I need to cancel {ref}
I'd like to cancel my subscription
We've decided not to go ahead, please cancel
Cancel the {thing} on {day}
Please close my account
finance|I want to close my {svc}
retail|Please cancel {ref} before it ships
Can you cancel the {svc} we booked
Something came up, I have to cancel {day}
I won't need the {staff} anymore, cancel it
Stop my monthly plan please
We no longer need the service, please cancel
Cancel everything please
I'd like to terminate my contract
Please cancel my recurring {thing}
clinic|I need to cancel my {thing} with the {staff}
Don't send the {staff}, I'm cancelling
Please cancel the order, I found it elsewhere
We're moving, please cancel our plan
I changed my mind, cancel the {svc}
""",
    "opt_out": """
STOP
stop
Please stop texting me
Unsubscribe
unsubscribe me
Take me off your list
Don't contact me again
Remove me from your mailing list
Stop sending me emails
I don't want any more messages
Please stop messaging me
No more texts please
Opt out
STOPALL
Remove my number
Do not contact me
Leave me alone and stop texting
I never signed up for this, remove me
End
Stop calling me
Quit sending me promotions
Please remove my email from your database
Take my number off your system
unsubscribe from all marketing
You guys are useless and stop texting me
I'm done with you, unsubscribe me now
Stop the follow ups, I'm not interested
I'm not interested anymore, please don't message me again
""",
    "human_request": """
Can I talk to a real person?
I want to speak to a manager
Can someone call me back?
Please have the owner call me
Is this a bot? I need a human
Can I speak with someone?
Call me at 555 0192 please
I'd rather talk on the phone, can someone ring me
Get me a human please
Who can I talk to about this?
Can {name} call me back today?
Can I speak to the {staff} directly?
I need to talk to someone in charge
Transfer me to an agent
Agent
Representative please
Please have someone give me a call when you can
Can a person help me instead of this automated thing
I'd like to discuss this with a manager
Is there a phone number I can call to talk to someone?
Can we hop on a call?
""",
    "spam": """
Get to page 1 of Google in 30 days!
We can boost your SEO rankings, reply for a free audit
Congratulations, you've won a $500 gift card, click here
Your account has been suspended, verify your password at http://secure-login.example.ru
I can build you a new website for just $99
We generate 50 qualified leads per week for businesses like yours
Hi dear, I am a barrister with an inheritance fund for you
Buy cheap followers and likes now
Limited offer: crypto investment with guaranteed 300% returns
Your invoice is attached, please enable macros to view
Earn $5000 a week from home
Guest post opportunity on our high DA blog
We noticed errors on your website, can we send you a proposal?
Want more 5-star reviews? We can help for a small fee
Hello I am interested in your product, kindly send your WhatsApp
Final notice: your domain is about to expire, renew at domain-renewal-services.biz
Get a business loan approved in 24 hours with no credit check
Hot singles in your area
Do you need a virtual assistant? Rates from $3/hour
I'd like to offer you app development services at low rates
Increase your sales with our email marketing list of 2 million contacts
Dear Friend, please assist me to transfer $10,500,000
Click this link to claim your prize
""",
    "other": """
How do I reset my password?
Thanks for the great service last year!
Happy holidays to the whole team
What's the wifi password in the waiting room?
Are you hiring?
I'd like to apply for a job
Can I change the email on my account?
I think I sent my last message to the wrong number, sorry
Is this the right number for {company}?
Just wanted to say {name} did an amazing job
How do I update my billing address?
Can you send me a copy of last year's invoice for my taxes?
Who is your supplier for {product}s?
Do you have a newsletter?
Lovely weather today
My login isn't working on your app
Test message
Sorry wrong chat
Can I leave a review somewhere?
Where can I download the app?
My colleague will be in touch about something else
I'm a student doing a project on small businesses, can I ask you some questions?
Can you update my phone number on file?
Do you sponsor local sports teams?
""",
}


def templates() -> dict[str, list[tuple[str, str]]]:
    """Parse RAW into (domains, text) pairs per category."""
    from bench.triage.datagen.train_more import MORE
    from bench.triage.datagen.train_real import REAL
    from bench.triage.datagen.train_wide import WIDE

    return parse_templates(
        {
            cat: "\n".join((first, MORE.get(cat, ""), WIDE.get(cat, ""), REAL.get(cat, "")))
            for cat, first in RAW.items()
        }
    )
