"""A third pack of training phrasings: long e-mail style messages, account chores and support wording.

Real customers of banks, shops and clinics write longer messages and ask about account chores;
this widens the classifier beyond short chat lines. Written by hand; no public intent data set
was copied or used.
"""

from __future__ import annotations

WIDE: dict[str, str] = {
    "sales_inquiry": """
Hello, I am writing to ask whether you would be able to provide {svc} for our {place}. We are hoping to get it done in the next couple of months. Kind regards
finance|I'm thinking about opening a {svc} and would like to know what you can offer compared to my current bank
retail|I'd like to buy a {product} as a present, do you have any in stock at the moment?
We're a property management company looking for a contractor for {svc} across several buildings
clinic|My partner and I are looking to register with a new {place}, are you accepting patients?
I'd like to place an order for {product}s, how do I go about it?
home|Our {product} is about 15 years old and on its last legs. We'd like someone to come and recommend a replacement
Good morning, I came across your website while looking for {svc}. Could you tell me how it works with you?
""",
    "lead_reply": """
Thanks for getting back to me so quickly. Yes, it's the downstairs unit
Morning! {day} suits us, we'll be in all day
That's fine, I'll make sure someone is home
Yes I received it, thanks
No worries, speak then
Understood, thanks for explaining
Ok brilliant, I'll wait for your call
Just the front and back garden
We have two dogs but they'll be inside
""",
    "routine_question": """
finance|How do I top up my account? Is there a way to do it by bank transfer?
finance|What are the opening hours of the branch on Saturdays?
finance|Which countries can I send money to?
finance|How long does a transfer usually take to arrive?
retail|What delivery options do you have?
retail|Do you offer gift wrapping?
retail|Where can I find your returns policy?
clinic|Do you have a female doctor I could see?
clinic|Is there a pharmacy on site?
What methods of payment do you accept?
Could you tell me what your refund policy is?
Do you offer gift cards?
What is your privacy policy regarding my data?
How far in advance do I need to book usually?
Do you have a minimum order?
""",
    "status_inquiry": """
finance|I ordered a new card last week and it still hasn't arrived, how long does it take?
finance|I made a transfer yesterday and it's still pending, is that normal?
finance|My top up hasn't gone through yet
retail|I placed an order on the website and haven't received a confirmation email, did it go through?
retail|Can you tell me when my order will be delivered?
retail|I returned the {product} two weeks ago, have you received it?
Could you give me an update on the refund I was promised?
I'm writing to check on the progress of my claim
clinic|I had blood taken last week, when will the results be back?
Has my cheque cleared yet?
I'm still waiting for the engineer's report, when will I get it?
""",
    "pricing_question": """
finance|What exchange rate do you use for card payments abroad?
finance|Is there a fee for withdrawing cash at an ATM?
finance|How much does it cost to send money abroad?
retail|How much is express delivery?
retail|Do you charge for returns?
Is there a fee for paying by card?
What are the charges for a late cancellation?
How much would it cost to change my booking?
Are there any hidden fees I should know about?
clinic|How much is a consultation if I pay myself?
""",
    "booking": """
I'd like to make an appointment for next week if possible, mornings are best for me
finance|Can I book a meeting with a mortgage advisor at the branch?
clinic|I'd like to book a check-up for my son, he's 7
Is it possible to reschedule my appointment to later in the month?
Could I change my delivery date to {day}?
I need to rearrange my {thing}, can we do {day} instead?
Can you fit me in before the end of the week?
""",
    "complaint": """
finance|My card payment was declined even though I have money in my account, this is really embarrassing
finance|There's a transaction on my statement I don't recognise
finance|I was charged a fee for a transfer that should have been free
finance|The app keeps crashing and I can't access my money
retail|The item I received is not what I ordered
retail|My parcel was left out in the rain and everything is ruined
retail|The delivery driver threw the package over the fence
I am extremely disappointed with the way my complaint has been handled so far
I wish to make a formal complaint about your {staff}
I've been double charged and nobody is answering
The service I received today was completely unacceptable
I was promised a call back three times and never got one
clinic|I was kept waiting for over an hour and then told to rebook
""",
    "refund_request": """
finance|I was charged twice for the same purchase, can you refund one of them?
finance|Please reverse the fee you took from my account
retail|I returned the {product} and would like my money back
retail|The order never arrived so I'd like a full refund
I'd like to request a refund for my cancelled appointment
Could you please refund my deposit? We've had to change our plans
I would like to claim back the {amt} I paid for the {svc}
Please process my refund of {amt} as soon as possible
""",
    "cancellation": """
finance|I want to cancel the transfer I just made, I sent it to the wrong person
finance|Please cancel my card, I don't need it anymore
retail|I'd like to cancel my order please, it hasn't shipped yet
Please cancel my appointment for {day}, I'm unwell
We'd like to cancel our contract at the end of this month
I need to cancel my booking, sorry for the inconvenience
Please cancel my recurring payment
clinic|I need to cancel and won't be rebooking for now
""",
    "opt_out": """
Please unsubscribe me from your newsletter
I no longer wish to receive marketing emails from you
Please remove me from all marketing communications
I didn't sign up for these texts, please remove me
Do not send me any more offers
Please stop sending me promotional messages
""",
    "human_request": """
I would like to speak to a customer service representative please
Is there a number I can call to speak to someone about my account?
I need to talk to a live agent
Can I speak to someone in the complaints department?
This bot isn't helping, can I talk to a human?
Please arrange for someone to phone me tomorrow morning
""",
    "spam": """
Congratulations! You have been selected to receive a free iPhone, click the link to claim
Your parcel could not be delivered, pay the redelivery fee at http://parcel-redeliver.co
We are a leading digital marketing agency and would love to work with you
Dear sir, I have an urgent and confidential business proposal
Get instant approval for a loan with no credit checks, apply now
Tired of low sales? Our growth hacking service guarantees results
Earn passive income with our trading bot
""",
    "other": """
finance|I forgot my PIN, how can I reset it?
finance|How do I change my passcode in the app?
finance|I can't log into online banking
finance|How do I verify my identity in the app?
finance|I want to change the name on my account after getting married
retail|How do I change the delivery address on my account?
retail|I can't remember my login details for the website
How do I update my contact details?
Can you send me a copy of my invoice from March?
I'd like to leave a compliment for the {staff}
What's your company registration number? My accountant needs it
Can I get a statement for my records?
I think someone else's mail was sent to me
""",
}

# Home-service and garage leads often open by describing the problem rather than naming a service.
PROBLEMS = """
home|Our {product} is making a loud banging noise, can someone come and take a look?
home|The {product} stopped working last night and the house is freezing. Can you send someone?
home|Water is leaking from under the {product}, do you do repairs?
home|The heat won't turn on and the thermostat shows an error code
home|AC is running but blowing warm air. Any chance someone could come out this week?
home|Hi, our {product} keeps tripping the breaker. Is this something you can fix?
home|There's a burning smell when the heating comes on, what should we do?
home|Upstairs is 10 degrees hotter than downstairs, can you help balance it?
home|Our energy bills have gone through the roof, we think the {product} is the problem
home|The {product} is about 20 years old and making strange noises. Would you come and look at it?
auto|The check engine light came on this morning, can you take a look?
auto|My car is pulling to the left and the steering wheel shakes
auto|Squealing noise when I brake, can I bring it in?
Hi, I've got a problem with my {product}, it's not working properly. Is this something you deal with?
home|Drain in the kitchen is completely blocked, do you do emergency call outs?
home|We've got a damp patch on the ceiling after the rain, could you check the roof?
"""
WIDE["sales_inquiry"] += PROBLEMS
