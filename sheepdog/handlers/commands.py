"""Chat commands, surface-independent: `/sheepdog pipeline` in Slack, `/pipeline` in Telegram.

Lead references (slash commands carry no thread context in Slack): a lead is named by its
number as shown on its card (`12` or `#12`) or by its contact's name (`"Jordan Ellis"` in quotes,
or one word such as `Jordan` when exactly one open lead matches). Examples:
`won 12 4500`, `won "Jordan Ellis" 4500`, `lost #12 went with a competitor`, `pause Jordan`.
"""

from __future__ import annotations

import shlex

from sqlalchemy import select

from sheepdog.domain import metrics as metric_rules
from sheepdog.domain.models import Autonomy, Category, Stage
from sheepdog.errors import BadInputError, ForbiddenError, NotFoundError
from sheepdog.handlers import policy_store
from sheepdog.handlers.context import Services
from sheepdog.handlers.team_actions import TeamAction, dispatch
from sheepdog.reports import data as report_data
from sheepdog.storage.tables import Contact, Lead, Message, customer_messages

# Commands that change a lead.
ACTING = frozenset({"won", "lost", "quoted", "visit", "visit_scheduled", "pause", "resume", "was"})
OWNER_ONLY = frozenset({"autonomy"})  # policy changes: the owner alone (Slack owner_user_id, console)
# Commands anyone in the workspace may run; every other one (pipeline and metrics show customer
# names and revenue) is for the team only, and a surface checks that before calling run().
PUBLIC = frozenset({"help"})
OPEN_STAGES = [s.value for s in Stage if s not in (Stage.WON, Stage.LOST)]


def help_text(command: str = "/sheepdog") -> str:
    return "\n".join(
        [
            f"*{command} pipeline* — open leads by stage, with owners and the stuck ones",
            f"*{command} metrics [7d|30d|2026-11-01..2026-11-30]* — every metric over the period "
            "(default the last 7 days), against the period before",
            f"*{command} quoted <lead>* — the quote is out: follow-ups switch to the post-quote cadence",
            f"*{command} visit <lead> [when|cancel]* — e.g. `{command} visit 12 thu 9am` (your time zone): "
            "reminders before it; again to move it, `cancel` to call it off",
            f"*{command} won <lead> [amount]* — e.g. `{command} won 12 4500`",
            f"*{command} lost <lead> <reason>* — e.g. `{command} lost #12 chose a competitor`",
            f"*{command} pause <lead>* / *{command} resume <lead>* — stop or restart the follow-ups",
            f"*{command} was <lead> <category>* — correct the triage of their last message, e.g. "
            f"`{command} was 12 a booking`; the brain learns it",
            f"*{command} policy* — autonomy per workflow and where it comes from",
            f"*{command} autonomy [workflow] L3|L4|L5* — owner only, e.g. `{command} autonomy first_reply L5` "
            "(no workflow: all of them)",
            'A lead is its number on the card (12 or #12) or its name: `"Jordan Ellis"` or `Jordan`.',
        ]
    )


def run(
    services: Services,
    text: str,
    actor: str,
    command: str = "/sheepdog",
    surface: str = "console",
    *,
    is_owner: bool = False,
) -> str:
    """Parse and run one command (the lead-changing ones through the team-action dispatch); the
    answer is plain text with light markdown. `is_owner` is the surface's word that the actor is the
    business owner (policy changes are theirs alone)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise BadInputError(f"could not read that command ({exc})") from None
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    if verb == "help":
        return help_text(command)
    if verb == "pipeline":
        return pipeline(services)
    if verb == "metrics":
        return metrics(services, " ".join(rest))
    if verb == "policy":
        return policy(services)
    if verb == "autonomy":
        return autonomy(services, rest, actor, is_owner=is_owner, command=command)
    if verb not in ACTING:
        raise BadInputError(f"unknown command {verb!r}")
    if not rest:
        raise BadInputError(f"which lead? e.g. `{command} {verb} 12`")
    lead_id = find_lead(services, rest[0])
    target, text = lead_id, " ".join(rest[1:]).strip()
    if verb == "won" and len(rest) > 1:
        text = rest[1]
    elif verb == "lost" and not text:
        raise BadInputError(f"say why it was lost, e.g. `{command} lost {rest[0]} too expensive`")
    elif verb == "visit":
        verb = "visit_scheduled"  # `visit 12 thu 9am`: the stage, and the visit's time when given
    elif verb == "was":
        text = parse_category(text).value
        target = last_inbound(services, lead_id)
    result = dispatch(services, TeamAction(verb, target, actor, text, surface))
    return (
        f"Lead #{lead_id}: {result.message}"
        if result.ok
        else f"Lead #{lead_id}: nothing changed ({result.message})"
    )


def policy(services: Services) -> str:
    """Autonomy per workflow, and whether it is the config's or the owner's choice from chat."""
    with services.db.session() as s:
        rows = policy_store.all_autonomy(s, services.settings)
    p = services.settings.policy
    lines = ["*Policy*"]
    for row in rows:
        holding = "holding replies on" if getattr(p, row.workflow).holding_reply else "no holding replies"
        lines.append(f"• {row.workflow.replace('_', ' ')}: {row.level.value} ({row.source}; {holding})")
    lines.append(
        f"• refunds up to {services.business.refund_threshold} are refunded and confirmed in one click"
    )
    lines.append(f"• opt-out applies to {'every channel' if p.opt_out_scope == 'all' else 'its own channel'}")
    return "\n".join(lines)


def autonomy(services: Services, words: list[str], actor: str, *, is_owner: bool, command: str) -> str:
    """`autonomy [workflow] L3|L4|L5`: stored over the config, logged, shown on every card."""
    if not words:
        return policy(services)
    if not is_owner:
        with services.db.session() as s:
            services.log(s, "autonomy_refused", None, actor, asked=" ".join(words))
        raise ForbiddenError("only the owner can change autonomy")
    level_word = words[-1].upper()
    try:
        level = Autonomy(level_word)
    except ValueError:
        raise BadInputError(
            f"{words[-1]!r} is not a level: L3, L4 or L5, e.g. `{command} autonomy L4`"
        ) from None
    if len(words) > 2:
        raise BadInputError(f"one workflow at most, e.g. `{command} autonomy first_reply {level.value}`")
    targets = list(policy_store.WORKFLOWS)
    if len(words) == 2:
        workflow = words[0].lower().replace("-", "_")
        workflow = {"first": "first_reply", "replies": "support", "follow_up": "cadence"}.get(
            workflow, workflow
        )
        if workflow not in policy_store.WORKFLOWS:
            raise BadInputError(f"unknown workflow {words[0]!r}; one of: {', '.join(policy_store.WORKFLOWS)}")
        targets = [workflow]
    changes = []
    for workflow in targets:
        before = policy_store.set_autonomy(services, workflow, level, actor)
        changes.append(f"{workflow.replace('_', ' ')} {before.value} → {level.value}")
    return f"Autonomy changed by {actor}: " + ", ".join(changes) + "."


def parse_category(words: str) -> Category:
    """'a booking', 'pricing question', 'opt-out', 'spam' → the category; anything else is refused
    with the list, so a typo never trains the brain."""
    cleaned = [w for w in words.lower().replace("-", " ").split() if w not in ("a", "an", "this", "it")]
    key = "_".join(cleaned)
    aliases = {
        "opt_out": "opt_out",
        "optout": "opt_out",
        "unsubscribe": "opt_out",
        "refund": "refund_request",
        "pricing": "pricing_question",
        "price": "pricing_question",
        "question": "routine_question",
        "status": "status_inquiry",
        "inquiry": "sales_inquiry",
        "sale": "sales_inquiry",
        "reply": "lead_reply",
        "human": "human_request",
        "cancel": "cancellation",
    }
    try:
        return Category(aliases.get(key, key))
    except ValueError:
        names = ", ".join(c.value.replace("_", " ") for c in Category)
        raise BadInputError(f"{words.strip() or '(nothing)'!r} is not a category; one of: {names}") from None


def last_inbound(services: Services, lead_id: int) -> int:
    """The newest message from the customer on this lead: the one a correction is about."""
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        message_id = s.scalar(customer_messages(lead).with_only_columns(Message.id).limit(1))
    if message_id is None:
        raise NotFoundError(f"lead #{lead_id} has no message from the customer to correct")
    return int(message_id)


def find_lead(services: Services, ref: str) -> int:
    """A number (12, #12) or a contact name; a name must match exactly one lead."""
    ref = ref.strip()
    digits = ref.removeprefix("#")
    with services.db.session() as s:
        if digits.isdigit():
            if s.get(Lead, int(digits)) is None:
                raise NotFoundError(f"no lead #{digits}")
            return int(digits)
        needle = ref.lower()
        rows = s.execute(
            select(Lead.id, Lead.stage, Contact.name).join(Contact, Lead.contact_id == Contact.id)
        ).all()
        exact = [r for r in rows if (r.name or "").lower() == needle]
        words = [r for r in rows if needle in (r.name or "").lower().split()]
        for found in (exact, words):
            open_ = [r for r in found if r.stage in OPEN_STAGES] or found
            if len(open_) == 1:
                return int(open_[0].id)
            if len(open_) > 1:
                ids = ", ".join(f"#{r.id}" for r in open_[:5])
                raise BadInputError(f"{ref!r} matches several leads ({ids}); use the number")
    raise NotFoundError(f"no lead named {ref!r}")


def pipeline(services: Services) -> str:
    """Open leads by stage with owners and value; stuck as domain.metrics.stuck_reason says (the SLA
    job escalates by the same rule)."""
    p = report_data.pipeline(
        services.db, services.now(), services.settings.policy.claim_sla_s, services.business.currency
    )
    return report_data.pipeline_text(p)


def metrics(services: Services, words: str = "") -> str:
    """`metrics`, `metrics 7d`, `metrics 30d`, `metrics 2026-11-01..2026-11-30`: every metric over
    the period, against the period of the same length before it."""
    try:
        period = metric_rules.parse_period(words, services.now(), services.business.timezone)
    except metric_rules.PeriodError as exc:
        raise BadInputError(str(exc)) from None
    return report_data.metrics_text(report_data.compare(services.db, period), services.business.currency)
