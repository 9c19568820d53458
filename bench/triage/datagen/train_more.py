"""More training phrasings: conversational replies, indirect cancellations, money owed, phishing.

Written after the first benchmark run to widen the styles the classifier has seen (never copying
an evaluation sentence); merged into train_templates.templates().
"""

from __future__ import annotations

MORE: dict[str, str] = {
    "sales_inquiry": """
home|Our {product} stopped working, can someone take a look?
home|The heating stopped, do you do repairs in my area?
Could someone stop by and quote {svc}?
Is {svc} a service you provide?
We're shopping around for {svc}, can you help?
Someone told me you're good with {svc}
Curious whether your team handles {svc}
I own {company} and need a company for ongoing {svc}
Hoping you can take on a {svc} job for us
Thinking of switching to you for {svc}
Would you be able to help with {svc} next month?
Can you tell me about your {svc} service?
Never used you before but need {svc}
retail|Looking to buy a {product}, do you have them?
finance|How would I go about getting a {svc} with you?
clinic|Can my kids register as new patients?
We need a provider for {svc} at our {place}
Do you guys offer {svc}? Saw you online
Trying to find a good company for {svc}
I'm after someone reliable to do {svc}
""",
    "lead_reply": """
Talk soon
Cheers, speak soon
Good to know
Good to know, thanks
The afternoon would suit us better
Evenings are better for me
{day} at {time} suits me
{time} is good
{day} is good for me
I'll check with my husband and let you know
Let me talk to my partner first
We're easy on timing
Any time works really
Still keen yes
Yep still want to go ahead
Nice one
Thank you, very helpful
Lovely stuff
Sure
Fab, thanks
Great, thanks again
Yes, that's the one
It's the one in the {place}
Roughly 10 years old
Not sure, maybe 2000 sq ft
Just me, no pets
Haha yes exactly
Ok, will wait to hear from you
Hmm let me think about it
Perfect, I'll keep an eye out for the email
""",
    "routine_question": """
Do you take cash?
Can I pay with card over the phone?
Do you accept checks or only cards?
Is there parking near you?
Where do I park?
What's the best email address for you?
What's your phone number?
Do I need to bring anything with me?
Is there anything I need to prepare before the {thing}?
Are you open bank holidays?
What time do you open?
Are you closed on Mondays?
Do you work in my town?
Is your {place} easy to get to by bus?
retail|Can I return online orders in store?
retail|Can I exchange a {product} bought online?
clinic|Do you take my insurance?
clinic|Are you in network with Blue Cross?
finance|Do I need an appointment to open an account?
Are your staff background checked?
Is the {place} wheelchair accessible?
Do you have a waiting area?
Do you do evening appointments in general?
How long is a typical {thing}?
""",
    "status_inquiry": """
The tracking stopped updating on {ref}, where is it?
Did you get the documents I emailed?
Can you confirm you received my form?
Did the photos come through?
Was my payment received?
Has the part been ordered?
Is the part in yet?
Been waiting on the quote, any update?
Any progress on my {thing}?
Where are we with {ref}?
Is {ref} on its way?
finance|Has my card been posted?
retail|When is {ref} arriving?
auto|Is my car finished?
clinic|Are my results in?
home|Is the {staff} on his way?
""",
    "pricing_question": """
What would {svc} set me back?
Roughly what does {svc} cost?
How much would it be for {svc}?
Is the {product} on sale?
Is there a sale on right now?
Any deals on at the moment?
Do you do first-time customer discounts?
Do you charge more on evenings or weekends?
Is there a charge to cancel late?
What's the fee if I cancel the day before?
How much is a cancellation fee?
What do you charge for {svc} these days?
finance|What fees come with a {svc}?
Is there a price list?
Whats the cheapest option?
""",
    "booking": """
Can you stop by {day} to look at the {product}?
Could the {staff} stop by {day} at {time}?
Can we set up a time for {day}?
I want to get something in the diary for {svc}
Could I reserve {day} at {time}?
Do you have a gap {day}?
Please schedule me for {svc} on {day}
Could the {staff} come {day}?
Let's do {day} at {time} for the {svc}
I'd like the next available slot
""",
    "complaint": """
The {product} is making the same noise again after you fixed it
Same problem as before, even after paying for the {svc}
It broke again a week after your {staff} repaired it
I paid for the {svc} and nothing has changed
auto|Still the same rattle after paying for the {svc}
home|The {product} you repaired is leaking again
The leak won't stop since your {staff} was here
The noise won't stop after the {svc}
The {product} keeps stopping every hour, this is the second repair
Your {staff} stopped halfway and never came back
I'll be telling all my friends to avoid you
Never using you again
I'm leaving a bad review
Been waiting weeks with no update, terrible service
Still nothing after weeks, really poor
Reception was dismissive and rude
The {staff} was dismissive when I raised it
I got charged for something I didn't order
Why is there an extra fee on my invoice?
There's a charge on my bill I don't recognise
I was billed twice this month
Your {staff} didn't turn up and didn't call
The {product} is damaged
The job was left half done
Really poor workmanship on the {svc}
No one has returned my calls
I'm fed up with the delays
The {product} fell apart
Your {staff} broke my {product}
Not impressed at all with the {svc}
""",
    "refund_request": """
I'm owed {amt}, please send it
You owe me {amt} from the cancelled {thing}
Please pay back the {amt}
Can I get some of my money back?
I want the money back for the {svc}
Send my deposit back please
I'd like to be reimbursed for {ref}
Please return my {amt}
I was promised a refund of {amt}, please process it
Can I have a refund? The {staff} didn't finish
""",
    "cancellation": """
I have to call off the {svc}
We're not going ahead with the {svc}
We won't be going ahead with the {svc} after all
Call off the {thing} please
We've decided against the {svc}
finance|I'd like to close my {svc}
Please close my {svc} account
Cancelling my {thing} {day}
I need to cancel, something came up
Please scrap the {thing}
I'd like to pull out of the {svc}
Take my {thing} off the schedule, I can't make it
Please end my plan
""",
    "opt_out": """
Cancel these texts
Stop these messages
please stop the texts
Unsubscribe me from everything
Opt me out
Don't message me anymore
""",
    "human_request": """
Could someone give me a ring?
Can somebody ring me?
Give me a call please
Please ring me back
I'd like a call back
Can I get a callback?
Put me through to someone
Connect me to a person
Let me speak to someone
Can I have someone phone me this afternoon?
Could a person call me about my {thing}?
""",
    "spam": """
Make money fast from home
We have a list of homeowners ready to buy
Want a free sample of our leads database?
Your mailbox is full, log in to keep receiving mail
Your payment failed, update your details here http://secure-pay-update.net
I'm interested in buying your business, message me on telegram
Dear owner, we can double your revenue in 30 days
Grow your followers fast with our service
Confirm your account details to avoid suspension
We can get you to the top of Google, reply YES
You've been selected for an exclusive offer, click the link
Hello dear, I have a business proposal for you
Our AI chatbot can answer your customers, book a demo
Cheap web design and SEO packages available
""",
    "other": """
Stop by anytime, the gate is open
Are you hiring?
Any job openings?
Do you have vacancies?
Do you have a referral scheme?
Do you do a refer-a-friend program?
ok thanks bye
Bye for now
Thanks, the team was great
Just saying thanks, really happy
Is this still {company}'s number?
Is this the right number for the office?
Can I update my address?
Wrong number sorry
Nevermind
lol sorry ignore that
""",
}
