"""A fourth pack of training phrasings: how real inboxes read, written from first principles.

Stories with the request buried inside, texting shorthand, sarcasm, polite disappointment,
non-native English, one-word answers inside a conversation, and every way people say "stop".
Written by hand for this project (no public data set was used); none of it copies a sentence of
the evaluation or hold-out sets.
"""

from __future__ import annotations

REAL: dict[str, str] = {
    "sales_inquiry": """
so my mate {name} had you do his {svc} and was really happy, could you do ours as well?
hi im new to town and looking for someone reliable for {svc}, do you cover my area
home|we've put off the {svc} for years and finally have the budget, can someone come round and have a look
retail|r u able to get {product}s in other colours? want to buy two
finance|Good day, I have a small shop and I am needing a {svc}, what is the process to become client?
clinic|hello, I would like to become patient at your {place}, my previous {staff} has retired
auto|Need someone to sort my {svc}, been with the dealer but they're too dear. Do you take on new cars?
salon|My friend's {svc} from you looked amazing, I'd love to try you guys
Can your team handle {svc} for a {place} this size? Never used you before
home|Bought an old farmhouse and the {product} is shot. Could you quote for replacing it?
We run {company} and want to outsource {svc}. Are you taking on new accounts?
My partner found your page and we'd like to know more about {svc}
Do you guys offer {svc}? If so I'm interested
home|our {product} keeps tripping and we want a new one put in, is that a job you'd do
Looking to get started with {svc} — what do you need from me?
""",
    "lead_reply": """
wed is good
thurs pm works
yes pls
yeah go on then
the grey one
the bigger one please
option 2
first one
both please
sounds great, what happens now?
cool, what do you need from me next?
ok sounds good
yep
yes
no
nope that's everything
mornings are best
any time after 3
sat works better
ok will do
lovely thanks
perfect, thanks so much
fine by me
deal
that's great news
ill send pics tonight
no pets, just us
its a semi detached
about 5 years old
it's on the second floor, there's a lift
I'll be there, door's round the back
Yes still interested!
Cheers, that helps
Got it, thanks
go ahead and book it in then
Hmm maybe the cheaper option
whichever is sooner
my wife will be home to let them in
no problem at all
no worries at all, whenever suits
not a problem
nah we're not in a rush
no, just the one {product}
no dogs, no kids, easy access
it's the one with the green gate
the flat above the {place}
The back bedroom mostly, rest is fine
already sent it over this morning
not yet but I will tonight
I have a cat but she hides
its a 2015 Ford Fiesta if that helps
yes that's right
mhm
yeah thats fine
all good
that's fine, no stress
Nothing else for now, thank you
I'll check with my husband and let you know
let me think about it and I'll get back to you
we're away till the 12th, after that is fine
either day works for us
works for me!
I'm around all week
Sounds like a plan
""",
    "routine_question": """
r u open bank holiday monday
do you accept apple pay
how late are you open on thursdays
can I pay in instalments or is it all upfront
retail|can I return something without the receipt
clinic|Do you see children or adults only?
is there parking nearby or should I get the bus
home|Do your {staff}s wear shoe covers inside? We have cream carpets
Do you work weekends at all?
finance|Is the {place} open at lunchtime?
salon|can I bring my own products or do you use yours
auto|do you have a courtesy car or a waiting area
Do I need to be home when the {staff} comes?
What languages do your {staff}s speak?
retail|do you gift wrap
Are you dog friendly?
what's your address again
clinic|Do you do online consultations as well?
""",
    "status_inquiry": """
any update on my order? its been a week
where is my parcel, tracking says nothing
hows my car coming along
is the {product} ready for pick up yet
did you get my email from {day}?
still waiting on that quote, any news?
retail|my order {ref} still says processing, when will it ship
finance|has my {thing} cleared yet? the money isn't showing
clinic|are my {thing} in yet? was told a week
home|is the {staff} still coming {day}? no one has confirmed
Just wondering where we are with the {thing}
any news on my refund request from last week?
auto|is it done? need the car back by the weekend
when will my {thing} be delivered
Has anyone looked at my application yet
wheres my stuff
checking on {ref}
did the part come in yet
retail|the tracking link doesn't work, can you tell me where my {product} is
""",
    "pricing_question": """
how much roughly
whats the price for {svc}
what would it cost to add {svc}
finance|any fees for closing my {svc} early?
is there a deposit and how much
retail|how much is express delivery
Are your prices per person or per visit?
clinic|How much does a {svc} cost if I'm not insured?
Do you charge a callout fee?
salon|how much for {svc} and a blow dry
auto|what do you charge for labour per hour
Is there a fee if I reschedule?
do seniors get a discount
""",
    "booking": """
can I book in for {day}
got anything {day} afternoon?
need to reschedule, can we do {day} instead
could you fit me in today
I'd like to make an appointment for {svc}
salon|book me in with {name} for a {svc} pls
clinic|can I get the first available {svc} slot
home|when can you send someone for {svc}? any day but Monday
auto|can I bring it in {day} at {time}
Is {time} {day} still free?
Please confirm my {thing} for {day}
move me to the afternoon if possible
""",
    "complaint": """
wow. just wow. your {staff} didn't bother to show up
Great service guys, really great, waited all day for nothing
Thanks a lot for ruining my {day}. The {svc} was a mess
Love how nobody answers the phone. Brilliant
really disappointed with the {svc}, not what I paid for
I'm very unhappy with the {thing}, it's not what was agreed
I'm so disappointed, I recommended you to friends and now this
YOU DAMAGED MY {product} AND NOBODY CARES
THIS IS THE WORST {svc} I HAVE EVER HAD
the {staff} was really rude and dismissive
your {staff} swore at me in front of my kids
home|the {staff} broke my {product} and just left without saying anything
home|there's water all over the floor since your {staff} left
retail|the {product} came damaged and the box was soaked
retail|got the wrong size and wrong colour, how hard can it be
retail|my order was supposed to arrive {day} and it's still not here, this is the third delay
clinic|the {staff} was rough and didn't listen to me at all
clinic|I was kept waiting 2 hours and then told to come back another day
auto|the car is making the same noise after your {svc}, I paid for nothing
auto|my {product} is worse than before I brought it in
salon|the {svc} is uneven and my hair is damaged
finance|you charged me an overdraft fee when I had money in the account
finance|my {thing} was delayed again and I've missed a bill because of you
why was I charged {amt} for something I never ordered
I was overcharged and nobody will explain the bill
not impressed. the job was rushed and left half finished
Poor workmanship, I expected better
the quality of the {svc} has really gone downhill
Still waiting for someone to fix what your {staff} broke
I've called four times and been promised a callback every time
Your {staff} was late, rude and the work is sloppy
I feel like I've been ripped off
This is a joke, honestly
so the {staff} turned up 3 hours late and didn't even apologise
i am writing to complain about my recent {svc}, it was below standard
no one told me the {thing} was cancelled, I took the day off work for nothing
I'm disgusted by the way I was treated
Absolutely shocking service from start to finish
ur {staff} was so rude omg never again
bad experience today, {staff} was impatient and the {svc} was rushed
dear manager, I am not satisfied with the service I received, the {staff} did not do what was promised
we are very unhappy, the {svc} was done badly and the {place} left dirty
sorry but this isn't good enough, the {thing} was late again
""",
    "refund_request": """
I want a refund
can i get my money back
please refund me the {amt}
I expect a full refund for the {svc}
Return my {amt}, the job wasn't done
the {svc} was useless, give me my money back
I was charged twice, please refund one of them
""",
    "cancellation": """
pls cancel my {thing}
cancel {day} please
i wont need the {svc} anymore, cancel it
Need to cancel, sorry
we've changed our minds, please cancel
finance|please close my account
I'd like to cancel my subscription
cancel my order please, found it cheaper
""",
    "opt_out": """
stop texting me
stop txt
stop msging me
remove me from your list
remove me from ur mailing list pls
take me off ur list
no more messages
no more texts pls
no more emails
wrong number
wrong number stop
wrong number, please stop texting me
you have the wrong number, stop messaging
this isn't {name}, wrong number. stop texting
unsubscribe me
unsubscribe pls
unsuscribe
leave me alone
just leave me alone
do not contact me again
do not contact me
don't contact me anymore
dont message me again
dont text this number again
I don't want these messages
I dont want ur texts
I'm not interested, stop texting me
not interested, remove me
please stop sending me messages
stop sending me these
quit texting me
never message me again
I don't want to hear from you again
please don't text me anymore
lose my number
delete my number
delete my details and stop contacting me
I never gave you permission to text me, stop
how did you get my number? stop
this is harassment, stop messaging me
I did not sign up for this. remove me
your {staff} was awful and the {svc} was a joke. stop texting me
I'm done with you people. don't contact me again
after the way I was treated I want no more messages from you
the {svc} was terrible and I want nothing more to do with you, remove me from your list
cancel my {thing} and stop texting me
I asked for a refund and got nothing, now stop sending me promotions
please stop the reminders
no more marketing please
I'd like to opt out
opt me out
STOP TEXTING ME
STOP SENDING ME MESSAGES
REMOVE ME
enough. stop
stop stop stop
""",
    "human_request": """
real person please
can I speak to someone
can someone call me
I want to talk to the owner
manager please
is there anyone I can actually talk to
""",
    "spam": """
We help businesses like yours get more leads, reply for a free demo
Your listing on Google Maps is unverified, call us to fix it
Exclusive: buy 500 reviews for your business today
Cheap SEO packages starting at $49
We noticed your site loads slowly, our team can redesign it
Pay this invoice today to avoid service interruption: link
""",
    "other": """
how do i update my phone number
can you send me a receipt for my records
can I change the email on my account
where do I find my invoice online
do you have a newsletter I can read online
Happy holidays from the {name} family!
sorry, meant to send that to my husband
just saying hi
are you guys hiring
I lost my login details
can I get a copy of my paperwork
hope you're all well
who should I send my CV to
my address has changed
did anyone hand in a lost phone
new phone, same number, just so you know
please send invoices to my work email from now on
is {name} back from holiday yet? tell her hi
thank you for the lovely chat yesterday
where can I leave you a review?
do you have a referral scheme?
can I pay someone else's bill for them
can I add my husband to the account
how do I change my password
my card on file has expired, how do I put the new one in
is this still the number for the {place}?
can you resend the welcome email
thanks again for everything, you've been great
we just wanted to say the {staff} did a lovely job, thank you
merry christmas!
good luck with the new shop
have a great weekend
""",
}
