"""A blind hold-out set: phrasings written once, before the offline brain was tuned, and scored once.

The main evaluation set (eval_templates.py) was looked at while improving the brain, so its
figure is optimistic; this one was not. Longer, email-like and mixed-language-register messages.
"""

from __future__ import annotations

from bench.triage.datagen.common import parse_templates

RAW: dict[str, str] = {
    "sales_inquiry": """
Good afternoon, we're renovating our {place} and I'm trying to find someone for {svc}. Could you let me know if that's something you'd take on?
clinic|hello! is dr. available to see new people? we just moved here and need a {svc}
finance|I'm looking at options for a {svc} for my small business and wanted to hear what you offer
retail|hey do u guys sell {product}s? need one for my daughter's birthday
home|We have an old {product} that needs replacing before winter. What would the next step be to get it quoted?
Hi - what's involved in getting {svc} with you? I haven't used you before
auto|Hi, my {product} needs looking at, do you take new customers?
salon|wanting to try {svc} for the first time, is that something you do?
home|Got your flyer in the mail. Could someone come out and look at {svc} for us?
I'd love to learn more about your {svc} options
""",
    "lead_reply": """
thursday is better actually
that all sounds fine to me, thanks
Yes it's still happening, the {product} is making the noise again
I'll be home all day so whenever suits
Ok thanks, I've sent the photos over
my husband will be there to let you in
Correct, {name} is my partner
No rush on our side
The gate code is 4471
Thanks, that's really helpful
""",
    "routine_question": """
Quick question - do you open on bank holidays?
What's the best way to pay you, do you take bank transfer?
Is it possible to park outside your {place}?
How early do you open in the mornings?
finance|do you have a branch near the city centre?
clinic|Do I need a referral or can I just come in?
retail|What's your policy on exchanges if something doesn't fit?
Which towns do you cover?
Do you need anything from me before the {thing}?
Is there a waiting room I can sit in?
""",
    "status_inquiry": """
Hello, I placed {ref} on Monday and haven't had a shipping email - has it gone out?
finance|I applied for the {svc} two weeks ago, is there any news on the decision?
clinic|Could you let me know whether my {thing} have been sent to my GP?
home|Our {staff} said he'd order a part, do you know when it's coming in?
auto|any news on the car? it's been in since {day}
retail|Where's my stuff?? Ordered ages ago
Has my {thing} been rescheduled or is it still {day}?
Have you had a chance to look at the estimate I asked for?
Checking whether you received my signed form
finance|When will the money from my transfer reach the other account?
""",
    "pricing_question": """
Could you tell me how much a {svc} usually runs?
Is there an extra charge for Saturday appointments?
What do you charge to come out and look at something?
finance|are there any charges for paying off the {svc} early?
clinic|Roughly how much is a {svc} if I don't have insurance?
retail|Is delivery free over a certain amount?
Do you offer any kind of loyalty discount?
How much more is it for an emergency call-out?
What's the cost difference between the basic and the full {svc}?
Is the price per hour or per job?
""",
    "booking": """
Hi, I'd like to get a {svc} booked in. Is {day} at {time} possible?
Would it be possible to switch my appointment to {day}?
Can you do {time} {day}? That's the only time I'm free
clinic|I need to see someone about my back this week, what have you got?
salon|Can I get in with {name} {day}?
auto|I want to book the car in for a {svc}, {day} if you can
Please can I change my {thing} from {time} to later in the day
I'd like to confirm {day} at {time} for the {svc}
Is there a slot before {time} on {day}?
""",
    "complaint": """
I'm writing to complain about the {svc} last week. The {staff} arrived late, was rude and didn't finish the job.
Honestly appalled by how I was treated at your {place} today
retail|The {product} I got has a huge scratch on it and the box was ripped open
finance|You've charged me a fee I was never told about and I'm not happy about it
home|Your crew tracked mud all through my {place} and didn't clean up
clinic|I've been trying to get through on the phone for 3 days, nobody picks up
The {product} you installed is worse than the old one
Your invoice doesn't match what we agreed, I was charged more than quoted
Still no callback after 4 emails. Poor.
""",
    "refund_request": """
I'd like to request a refund of {amt} for the {svc} that was cancelled on your side
retail|The {product} doesn't work. I'd like the {amt} back on my card please
finance|Please refund the {amt} charged to my account on the 3rd, it was a mistake
You charged my card twice for {ref}. Please send one payment back
I paid a {amt} deposit and you never turned up. I want it returned
Can I please have my money back for the {thing}? It wasn't done
clinic|Insurance covered the {svc}, so I'd like the {amt} I paid refunded
I want a refund, the {staff} broke my {product} and left
""",
    "cancellation": """
Hi, unfortunately we'll have to cancel the {svc} booked for {day}
Please cancel my {thing}, I've found someone closer
finance|I'd like to cancel my {svc} and close the account
retail|can i cancel {ref}? ordered the wrong size
clinic|I'm going to have to cancel {day}'s {thing}, sorry for the short notice
Please stop my subscription from next month
We need to cancel the whole project, sorry
I can't make it on {day} so please cancel the booking
""",
    "opt_out": """
Please remove me from your texts
stop stop stop
I've asked before - stop sending me messages
UNSUBSCRIBE
Not interested, please don't text me again
Kindly take my email address off your mailing list
Please stop with the marketing emails
No thanks, and please don't contact me any more
remove
Stop messaging me, I never gave you this number
""",
    "human_request": """
Can I please speak to someone in person about this?
I'd really prefer a phone call, can someone ring me on 07700 900123?
Could the manager give me a call?
Are you a real person or a bot? I want to talk to someone
Please get a human to call me back
Can I talk to {name} directly please?
Can someone call me? Easier than texting
I want to talk to a person about my {thing}
""",
    "spam": """
Is this the owner? I have a proven system to get you 30 new clients a month, interested?
Your website is not mobile friendly, we can fix it for $199
Dear winner, your email has won the international lottery
Click here to confirm your bank details or your account will be closed
We are offering cheap backlinks from high authority sites
Hi, I can help you rank #1 on Google Maps, can I send a proposal?
Bulk SMS marketing service, 10,000 messages for $50
Act now: pre-approved business funding up to $250k
""",
    "other": """
Thanks so much for everything last year, you were great
Is there a way to get invoices emailed instead of posted?
Sorry, ignore my last message
Do you know a good electrician? Not something you do I think
Can I change the name on my account?
How do I log into the customer portal?
Merry Christmas to the team!
I'd like to apply for the apprentice position
""",
}


def templates() -> dict[str, list[tuple[str, str]]]:
    """RAW as (domains, text) pairs per category."""
    return parse_templates(RAW)
