"""Long letters (40+ words) as a small business gets them, written for the sixth round of issue 16
as look-alikes (not drawn from any source, never trained on): a project, a need told without a
question, a booking or a question with context, thanks; and complaints told as a story.

Why: the classifier learnt mostly from short messages, and the fifth round's training letters made
"long, and something broke" read as a complaint. A new customer's burst pipe must not get a
complaint card, and a story of being let down must not get a sales reply.
"""

from __future__ import annotations

import pytest

from sheepdog.brain.offline import OfflineBrain
from sheepdog.domain.models import Business, Category, SignalName

# (what it is, text): none is a complaint.
NOT_COMPLAINTS = [
    (
        "sales_inquiry",
        "Hi, we just bought a 1960s ranch house and the furnace is the original one. The inspector said it still runs but the heat exchanger is rusty and it is probably time. We would like someone to come out, look at the ductwork and give us options for a heat pump or a new gas furnace. Weekday mornings work best for us.",
    ),
    (
        "sales_inquiry",
        "Hello, I manage a small office of twelve people on the second floor of the Maple Street building. Our current cleaning service is retiring at the end of the month so we need a new company for nightly cleaning three times a week, including the kitchen and two bathrooms. Please send pricing and availability.",
    ),
    (
        "sales_inquiry",
        "Our previous landscaper moved away last fall and the yard has been neglected since then. The lawn is about half an acre, there are overgrown hedges along the fence and the flower beds need mulch. We are looking for someone to do a spring clean-up and then weekly mowing through October. Let me know if you have room.",
    ),
    (
        "sales_inquiry",
        "We are planning to redo our kitchen this summer. The cabinets are from the nineties and the countertop has a crack near the sink. We want quartz counters, new cabinet fronts and under-cabinet lighting, and we have a budget of around twenty thousand. A friend recommended you after you did her bathroom last year. I would love to get an estimate.",
    ),
    (
        "sales_inquiry",
        "Good morning. I run a family dental practice and we are opening a second location in March. We need a contractor for the build-out: about 1,800 square feet, four operatories, plumbing for the chairs and a small lab. The landlord has approved the plans. Could you tell me whether this is the kind of work you take on.",
    ),
    (
        "sales_inquiry",
        "My mother is moving in with us and we need to turn the garage into a bedroom with a small bathroom. The garage is attached, about 400 square feet, and already has power. We have never done a project like this before so we would appreciate someone walking us through permits and rough costs.",
    ),
    (
        "booking",
        "Hi Dana, this is Maria again. You did my color in October and I loved how it turned out, everyone at work asked about it. My roots are showing now and I have a wedding on the 19th, so I would like to come in for a root touch-up and a trim sometime the week before, ideally a Tuesday or Wednesday afternoon.",
    ),
    (
        "booking",
        "Hello, our air conditioner was serviced by your team last spring and it ran perfectly all summer. The technician suggested we book a furnace check before winter, so I would like to set that up. Any weekday after three works, or Saturday morning. The address is the same as last time, 14 Birch Lane.",
    ),
    (
        "booking",
        "I am the office manager at Greenfield Dental. We would like to book our quarterly carpet cleaning for the waiting room and the three treatment rooms. It has to be done after hours, so any evening after 6 pm during the first week of December would be ideal. Please confirm a date that works for your crew.",
    ),
    (
        "status_inquiry",
        "Hi, I ordered the replacement part for my dishwasher through your shop on the 3rd and your technician said it would take about a week to arrive. It has been ten days now and I have not heard anything. I just want to know where things stand and when we can expect the repair visit to be scheduled.",
    ),
    (
        "status_inquiry",
        "Good afternoon, we signed the estimate for the fence on Monday and paid the deposit by card. Your office said someone would call to set the start date but we are going away on the 20th and would like to plan around it. Could someone let me know when the crew is likely to start.",
    ),
    (
        "routine_question",
        "Hi there. We are hosting my daughter's birthday at home next month and a few of the guests have severe nut allergies. I wanted to check whether the cakes from your bakery are made in a kitchen that also handles nuts, and whether you label the ingredients on the box. Thanks very much for your help.",
    ),
    (
        "routine_question",
        "Hello, I am new to the area and looking for a regular vet for my two cats. One of them is fourteen and has kidney disease, so she needs blood work every three months. I would like to know whether your clinic accepts walk-ins for blood draws or whether everything is by appointment, and whether you have parking.",
    ),
    (
        "pricing_question",
        "Thanks for coming out yesterday to look at the roof. Before we decide, I wanted to understand the estimate a bit better. The quote lists tear-off and disposal separately from the new shingles, and there is a line for flashing. Is the flashing included if you find rot under the old roof, or would that be extra.",
    ),
    (
        "cancellation",
        "Hi, I have had the monthly pest control plan with you for two years and the service has always been good. We are selling the house and moving out of state at the end of this month, so I need to cancel the plan after the visit scheduled for the 12th. Please let me know what you need from me to close the account.",
    ),
    (
        "cancellation",
        "Hello, I booked a deep clean for Friday the 8th for my apartment. My landlord has just told me the move-out inspection has been pushed to January, so I will not need the clean this week after all. Please cancel Friday's appointment and I will get back in touch when I have the new date.",
    ),
    (
        "refund_request",
        "I booked a gutter cleaning for the 4th and paid the $180 in advance on your website. On the 3rd your office called to say the crew could not make it and the job would be rescheduled, but we have since hired someone local because of the storm. I would like the $180 refunded to the card I used.",
    ),
    (
        "human_request",
        "Hello, I have a question about a larger commercial contract for three of our restaurants, including kitchen exhaust cleaning and grease trap service every quarter. It is a bit complicated to explain by message, so I would prefer to speak with the owner or whoever handles commercial accounts. My direct line is 555-0142.",
    ),
    (
        "sales_inquiry",
        "We had a small leak under the bathroom sink last week which I fixed myself, but it made me realise the pipes in this house are all original galvanized steel from the fifties. I would like to get a quote for replacing them with PEX throughout. The house is a two-storey with two bathrooms and a kitchen.",
    ),
    (
        "booking",
        "Hi, my son is home from college for the holidays and his wisdom teeth have been bothering him. His dentist at school recommended having them looked at soon. He is free from the 18th until the 6th of January. Could you fit him in for a consultation and x-rays during that time, ideally in the mornings.",
    ),
    (
        "sales_inquiry",
        "Hello! I run a small bakery downtown and our walk-in cooler is about fifteen years old. It still works but the compressor is noisy and our electricity bill keeps going up. I am thinking about replacing it before summer and would like someone to look at it and tell me whether a repair or a new unit makes more sense.",
    ),
    (
        "routine_question",
        "Hello. I am putting together a care plan for my elderly father who lives alone. He has trouble with stairs and I would like someone to clean his house every two weeks, change the bed linen and do a little laundry. I would like to know if your cleaners are background checked and insured, and whether the same person comes each time.",
    ),
    (
        "sales_inquiry",
        "Our HOA has approved new fences for the whole street, eighteen houses in total, and I have been asked to collect quotes. Each yard needs about 120 feet of six-foot cedar privacy fence with one gate. We would like the work done between April and June. Please let me know if you can quote on a job of this size.",
    ),
    (
        "booking",
        "Hi, my husband and I are celebrating our twentieth anniversary on Saturday the 14th and we would love a table for two at around 7:30. If possible we would like a quiet table by the window. I also wanted to mention that he is vegetarian, so if the chef could prepare something special that would be wonderful.",
    ),
    (
        "sales_inquiry",
        "Our furnace stopped working last night. It made a loud bang and then the pilot light went out and would not relight. We have two small kids and the house is down to 58 degrees this morning. The unit is about twelve years old, a Carrier I think, and it was serviced last year by another company.",
    ),
    (
        "sales_inquiry",
        "The water heater in our basement started leaking sometime over the weekend and there is about an inch of water on the floor around it. I turned off the water supply to it and the breaker. It is a 50 gallon electric tank that came with the house when we bought it eight years ago.",
    ),
    (
        "sales_inquiry",
        "We noticed a brown stain spreading on the ceiling of the upstairs bedroom after the storm on Sunday. It is right under the spot where the chimney meets the roof. The roof itself is about fifteen years old and we have never had a leak before. Our number is 555-0199 and we are home most afternoons.",
    ),
    (
        "sales_inquiry",
        "The garage door opener quit on us this morning. The motor hums when you press the button but the door does not move, and one of the springs looks like it snapped in half. The door is a double two-car door, steel, maybe ten years old. The car is stuck inside and I have to get to work tomorrow.",
    ),
    (
        "sales_inquiry",
        "Hi, the air conditioner at our shop has been blowing warm air since yesterday afternoon and the outdoor unit is making a rattling noise when it runs. It is a rooftop unit on a one-storey building, about 3,000 square feet. We open at nine and it gets very hot in there by noon.",
    ),
    (
        "sales_inquiry",
        "Our kitchen sink has been draining slower and slower for a couple of weeks and now it backs up into the other side whenever the dishwasher runs. I tried a plunger and a bottle of drain cleaner and neither made any difference. The house is from the 1970s and has the original cast iron pipes.",
    ),
    (
        "other",
        "Just wanted to say thank you to Mike and his crew. They showed up on time every day, kept the yard clean and finished the deck two days early. My wife loves it and we have already had the neighbours over for a barbecue on it. We will definitely be recommending you to everyone we know.",
    ),
    (
        "other",
        "Quick update from our end. The inspector came by on Thursday and signed off on the electrical work, so everything passed. The new panel is labelled and the outlets in the garage all work. I left the permit paperwork on the kitchen counter for your office to pick up whenever someone is in the area.",
    ),
]

COMPLAINTS = [
    "In September your crew replaced the water heater in our basement. Two weeks later it started leaking from the pressure valve and the floor got soaked. Your technician came back, tightened something and left. It leaked again the same night. I have now called the office four times and nobody has called me back.",
    "I have been a member at your gym for three years. In October I froze my membership because of surgery and your front desk confirmed it in writing. You have charged my card for November and December anyway, and when I came in to sort it out the manager told me there was nothing on file. I am very disappointed.",
    "Your cleaner came to our house on Tuesday while we were at work. When we got home the kitchen floor had not been mopped, the bathrooms were only half done and a vase in the hallway was broken. No note was left. This is the second time this has happened and we pay for a full clean every week.",
    "We paid a deposit of $2,000 in August for new windows to be installed in October. The installation date has been moved three times now, each time with a phone call the day before. The sales rep promised us the windows would be in before the cold weather. It is now December and we still have plastic over two openings.",
    "I brought my car in for a brake job on Monday. When I picked it up the check engine light was on, which it was not when I dropped it off, and the invoice had two hundred dollars of extra work I never approved. The service writer shrugged and said the mechanic must have found something. Nobody called me first.",
    "Last month your technician serviced our furnace and told us everything was fine. Three days later it stopped working during the cold snap and another company found the igniter had been left disconnected. We had no heat for a weekend with a baby in the house. I expected much better from a company we have used for years.",
    "I ordered a custom birthday cake for my daughter's party and paid in full a week ahead. When I came to pick it up the name was spelled wrong, the colours were completely different from what we agreed and it was still partly frozen in the middle. The person at the counter was rude when I pointed it out.",
    "My dog was boarded with you over Thanksgiving. When we collected him he had lost weight, had a cut on his leg that nobody mentioned and his bag of food was still almost full. When I asked about it the staff said they had not noticed anything. We have boarded him with you for years and this has never happened before.",
]


@pytest.mark.parametrize(
    ("what", "text"), NOT_COMPLAINTS, ids=lambda v: v if v in {w for w, _ in NOT_COMPLAINTS} else ""
)
def test_a_long_letter_is_not_read_as_a_complaint_for_its_length(
    brain: OfflineBrain, business: Business, what: str, text: str
) -> None:
    assert len(text.split()) >= 40
    assert brain.triage(text, business).category != Category.COMPLAINT


def test_stories_of_being_let_down_are_complaints(brain: OfflineBrain, business: Business) -> None:
    """At least 7 of the 8 (one, a delayed window installation told without a complaint word, reads
    as a status inquiry; no sales reply goes to any of them)."""
    got = [brain.triage(text, business).category for text in COMPLAINTS]
    assert sum(c == Category.COMPLAINT for c in got) >= 7
    assert Category.SALES_INQUIRY not in got


@pytest.mark.parametrize(
    ("text", "failed"),
    [
        ("Your crew installed the fence on Monday and the next day two posts fell down.", True),
        ("Last month your technician serviced our furnace. Three days later it stopped working.", True),
        ("You installed our AC in 2015 and it stopped working today, can you come?", False),
        ("Your tech came out on Tuesday and since then the heat works great, thanks!", False),
        ("Our furnace stopped working last night. It was serviced last year by another company.", False),
    ],
)
def test_our_work_that_soon_went_wrong_is_a_complaint_story(text: str, failed: bool) -> None:
    """Our work, soon after, a failure: all three, so a returning customer's new need and thanks
    are not complaints."""
    from sheepdog.brain import rules

    assert rules.our_work_failed(text) is failed


# A review of the sixth round wrote these (for this project, as an owner would get them): each is
# a case one version of the round got wrong. (id, what it is, text)
REVIEW_CASES = [
    (
        "P1e",
        "spam",
        "Hi, I need a heat pump for a 3 bed house. Please verify the details of the property on the listing I uploaded: https://homefile-share.co/x9 and let me know when you can come out.",
    ),
    (
        "C14",
        "complaint",
        "Your guys replaced our furnace in October. Since the install our gas bill has doubled compared to last winter with the old unit, and the thermostat they put in keeps losing its schedule. We'd like a technician to check the setup and the thermostat wiring, because something is clearly not right with the heating.",
    ),
    (
        "C9",
        "complaint",
        "We had the new furnace installed by your team at the start of the month. The upstairs bedrooms are still cold and now there is a whistling sound from the vents in the hallway that was never there before. The installer said the system would be balanced before he left. We need someone to come back and finish the job.",
    ),
    (
        "C17",
        "complaint",
        "Hello, your crew put in our new furnace and AC in early September and overall the install looked tidy. However, the upstairs has been noticeably colder than downstairs since the first cold night, the return in the master bedroom barely pulls any air, and the new thermostat shows an error code every few days. We were told the system would be balanced and tested before the crew left. We'd like a technician to come back and finish that work.",
    ),
    (
        "O1",
        "opt_out",
        "Hi, we had the furnace done by you in the fall and were happy, but we're getting three texts a week from you about AC specials now. Please no more of the marketing, we'll reach out when we need something.",
    ),
    (
        "S4",
        "complaint",
        "I got a text from you saying to verify your details at a link, which looked like a scam. Did your company send that? I'm worried my card info from the furnace install is out there.",
    ),
    (
        "W1",
        "sales_inquiry",
        "Our furnace stopped working last night and we have no heat. Can you get it fixed within 24 hours? We have a baby at home. 555-302-1188",
    ),
    (
        "L5",
        "sales_inquiry",
        "Our AC decided to quit in the middle of this heat wave. Can you send someone today? 555-881-2030",
    ),
    (
        "L6",
        "sales_inquiry",
        "Hi, we're not going ahead with the kitchen remodel until spring, but the furnace is making a loud banging noise every time it kicks on and we'd like it looked at before it gets colder. Could someone come out next week? Any weekday morning is fine. Thanks, Ellen 555-919-3434",
    ),
    (
        "L8",
        "sales_inquiry",
        "We want to scrap the old oil boiler in our basement and switch to a heat pump. The house is a 1920s colonial with radiators on both floors. Is that something you do, and what would the process look like? We'd like to get this done over the summer. Best, Hannah 555-212-7878",
    ),
    (
        "Q4",
        "sales_inquiry",
        "Hello, we're finally ready to pull out of the old electric baseboards and go with ductless mini splits through the whole house, 4 bedrooms plus the living room. Can you come out next week to measure up and talk options? Thanks, Gail 555-808-4545",
    ),
    (
        "L11",
        "sales_inquiry",
        "Hi, you installed our heat pump back in 2017 and it's been great. When we got home from vacation tonight it had stopped blowing warm air, just cold. It's almost 10 years old so we might be ready for a new one. Can a tech come tomorrow to take a look? Thanks, Leah 555-444-0101",
    ),
    (
        "W5",
        "sales_inquiry",
        "Your tech serviced our furnace last fall and it's been perfect. Since then we've added a sunroom on the back that has no heat at all. Could someone come look at adding a mini split out there?",
    ),
    (
        "X1",
        "cancellation",
        "Hi, this is Judy Park at 22 Oak St. We were booked for the heat pump install on the 18th. Unfortunately my husband lost his job last week, so we won't be going ahead with it this year. We'll reach out again once things settle down. Sorry for the short notice and thank you for your help so far.",
    ),
    (
        "X2",
        "cancellation",
        "Hello, we have the duct cleaning booked for Friday the 9th at 10am. We accepted an offer on the house yesterday and the new owners are doing their own renovations, so we won't be needing it after all. Please take us off the schedule for that day. Thanks for understanding, Martin",
    ),
    (
        "X3",
        "cancellation",
        "Good afternoon. We signed up for your yearly maintenance plan back in March for the furnace and AC. We've since moved to an apartment where the landlord handles all of that, so we'd like to stop the plan and the monthly payment from next month on. Let me know if you need anything from me. Regards, Olivia Chen",
    ),
    (
        "X4",
        "cancellation",
        "Hi Sheila, I'm going to have to call off Thursday's AC tune-up. My mother is in the hospital and I'll be out of town with her for at least two weeks and won't be around to let your technician in. I'll get back in touch when I'm home to rebook. Thanks, Dave",
    ),
]


@pytest.mark.parametrize(("case", "truth", "text"), REVIEW_CASES, ids=[c for c, _, _ in REVIEW_CASES])
def test_review_cases(brain: OfflineBrain, business: Business, case: str, truth: str, text: str) -> None:
    """Safety first: no complaint, cancellation or opt-out answered alone, spam with a link held,
    no customer held as spam; then no hot lead read as a complaint or a cancellation."""
    from bench.triage.run import SENSITIVE_TRUTH, answers_alone

    triage = brain.triage(text, business)
    if truth in SENSITIVE_TRUTH:
        assert not answers_alone(triage, business)
    if truth in ("opt_out", "spam", "cancellation"):
        assert triage.category == Category(truth)
    if truth != "spam":
        assert triage.category != Category.SPAM
    if truth == "sales_inquiry":
        assert triage.category not in (Category.COMPLAINT, Category.CANCELLATION)


@pytest.mark.parametrize(
    ("text", "spam"),
    [
        ("Do you accept bitcoin?", False),
        ("Can I pay with crypto for the furnace tune-up?", False),
        ("Buy bitcoin now, guaranteed 300% returns: www.coin-x.biz", True),
    ],
)
def test_a_known_spam_word_alone_does_not_hold_a_customer(
    brain: OfflineBrain, business: Business, text: str, spam: bool
) -> None:
    assert (brain.triage(text, business).category == Category.SPAM) is spam


@pytest.mark.parametrize(
    ("text", "ours"),
    [
        ("Your guys replaced our furnace in October and the bill has doubled", True),
        ("The heat pump you put in last month is very loud", True),
        ("We had the furnace serviced by your team in May", True),
        ("Have you installed mini splits in a 1920s house?", False),
        ("Can you get it fixed within 24 hours?", False),
    ],
)
def test_our_past_work_is_read_and_waits_for_a_person(
    brain: OfflineBrain, business: Business, text: str, ours: bool
) -> None:
    """Policy gives a returning customer a person; a customer who says we did their work is one."""
    from sheepdog.brain import rules

    assert bool(rules.RETURNING.search(text)) is ours
    waits = [s.value for s in brain.triage(text, business).signals if s.name == SignalName.NEEDS_HUMAN]
    assert any("worked for them before" in (w or "") for w in waits) is ours


# The seventh round's look-alikes: the paperwork around a job (financing, collections, a credit
# check, a warranty claim, a membership, a written estimate), written for these tests, not drawn
# from any source, never trained on. Complaints about it, and letters with the same words that are
# not complaints.
PAPERWORK_COMPLAINTS = [
    "We put our new AC on the twelve-month same-as-cash financing your salesman set up in April. In October a statement arrived with eight months of back interest on it, because the lender says the promotion was never attached to our account. Your office says it is between us and the lender and the lender says your office filled in the form.",
    "I paid the last invoice for the bathroom remodel by bank transfer on the 2nd of June and I have the confirmation. In September a collection agency wrote to me saying I owe your company $1,450. I sent the proof to your office and to the agency. They are still sending letters and the agency has threatened to report it.",
    "When we signed up for the maintenance plan your rep said it would be a soft credit check only. We found a hard inquiry from your finance partner on both our credit reports the next week, right when we were applying for a mortgage. Nobody told us this would happen and now our rate is higher.",
    "Our water heater failed eleven months after your team installed it. The manufacturer refused the warranty claim because the unit was never registered, and registering it was part of what we paid you for. Your office keeps promising to look into it but it has been seven weeks and we have paid for a replacement element ourselves.",
    "I cancelled the monthly membership at the front desk in March and was told it was done. Since then my card has been charged every month, four times now. Each time I call I am told the cancellation was not in the system and that I should come in again. I have the name of the person who took it.",
    "The estimate you gave us in writing was $6,800 for the whole job. The final bill came to $9,300, with charges for permits and disposal that were never mentioned. When I asked the owner about it he said that is how it always works and that I should have read the small print. There was no small print.",
]
PAPERWORK_NOT_COMPLAINTS = [
    (
        "sales_inquiry",
        "We are looking at replacing the furnace and central air in our 1990s two-storey this spring. Our credit is good and we would rather pay monthly than all at once. Do you work with a financing company, and could someone come out to measure up and give us a quote for both units?",
    ),
    (
        "status_inquiry",
        "I filled in the financing application your salesman left with us on Monday and sent it back with two pay stubs and a copy of my license, as he asked. It has been a week and we have not heard anything yet. Could you let me know whether it went through and when the install can be booked?",
    ),
    (
        "other",
        "Just to let you know the final payment for the kitchen job went out from our bank this morning, so the account should be clear by Friday. Thanks again to your office for sorting out the paperwork with the lender, it made things much easier for us. We will call you when we are ready to do the basement.",
    ),
    (
        "routine_question",
        "We have the payment plan with you for the heat pump and pay by check every month. Our bank is switching us to a new account number at the end of the month. Is there a form to fill in so the payments come from the new account, or can I just send the details by e-mail?",
    ),
]


def test_complaints_about_the_paperwork_are_complaints(brain: OfflineBrain, business: Business) -> None:
    """At least 5 of the 6 (measured: the surprise credit check reads as a sales inquiry at 58%),
    and none is answered on its own."""
    from bench.triage.run import answers_alone

    got = [brain.triage(text, business) for text in PAPERWORK_COMPLAINTS]
    assert sum(t.category == Category.COMPLAINT for t in got) >= 5
    assert not any(answers_alone(t, business) for t in got)


@pytest.mark.parametrize(
    ("what", "text"), PAPERWORK_NOT_COMPLAINTS, ids=[w for w, _ in PAPERWORK_NOT_COMPLAINTS]
)
def test_the_same_words_without_a_grievance_are_not_complaints(
    brain: OfflineBrain, business: Business, what: str, text: str
) -> None:
    """Financing, an application, a payment, a bank change: none reads as a complaint, and the enquiry,
    the status question and the update read as what they are (the bank change reads as an update)."""
    got = brain.triage(text, business).category
    assert got != Category.COMPLAINT
    if what != "routine_question":
        assert got == Category(what)
