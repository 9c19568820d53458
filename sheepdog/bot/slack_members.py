"""Who is who on Slack, and how to answer one person privately: display names (users.info,
cached), the lead channel's members (who may act), refusals and private notes. The Slack surface
builds on this; nothing here decides what an action does."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from sheepdog.bot.slack_blocks import MENTION
from sheepdog.config import SlackConfig
from sheepdog.handlers.context import Services

log = logging.getLogger("sheepdog.bot.slack")

MEMBERS_TTL_S = 300  # how long the channel's member list is trusted
NAMES_TTL_S = 3600  # how long a display name from users.info is trusted (people rename themselves)


class SlackMembers:
    """The Slack Web API client and the people behind user ids."""

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        self.channel: str = config.channel or ""
        self._names: dict[str, tuple[float, str]] = {}
        self._members: tuple[float, frozenset[str]] = (0.0, frozenset())

    def client(self) -> AsyncWebClient:
        """A client per event loop (the job thread runs its own); 429/5xx/resets are retried."""
        base = (self.config.api_base_url or "https://slack.com/api").rstrip("/") + "/"
        return AsyncWebClient(
            token=self.config.bot_token,
            base_url=base,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )

    async def display_name(self, client: AsyncWebClient, user_id: str) -> str:
        """Cards say "Approved by Dana", not by U024BE7LH: users.info, cached; the id if it fails."""
        at, cached = self._names.get(user_id, (0.0, ""))
        if cached and time.monotonic() - at <= NAMES_TTL_S:
            return cached
        try:
            user = (await client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return user_id
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user_id
        self._names[user_id] = (time.monotonic(), name)
        return name

    async def mention_names(self, client: AsyncWebClient, text: str) -> dict[str, str]:
        """Names of the members mentioned in a message; one not found is left out, so the
        customer reads "@someone", never an id."""
        names = {u: await self.display_name(client, u) for u in dict.fromkeys(MENTION.findall(text))}
        return {u: n for u, n in names.items() if n != u}

    async def may_act(self, client: AsyncWebClient, user_id: str) -> bool:
        """Members of the lead channel, the allowlist and the owner may approve, edit and send."""
        if user_id in self.config.allowlist or user_id == self.config.owner_user_id:
            return True
        at, members = self._members
        if time.monotonic() - at > MEMBERS_TTL_S:
            found: set[str] = set()
            cursor = None
            while True:
                resp = await client.conversations_members(channel=self.channel, cursor=cursor, limit=500)
                found.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            members = frozenset(found)
            self._members = (time.monotonic(), members)
        return user_id in members

    def is_owner(self, user_id: str) -> bool:
        """Policy changes are the owner's alone (config [slack] owner_user_id)."""
        return bool(self.config.owner_user_id) and user_id == self.config.owner_user_id

    async def refuse(
        self,
        services: Services,
        client: AsyncWebClient,
        user_id: str,
        what: str,
        respond: AsyncRespond | None = None,
    ) -> None:
        """A stranger's click, reaction, reply or command: a line in the event log first, then a
        polite note only they see (through `respond` when Slack gave a response_url: a stranger
        is not in the lead channel, so chat.postEphemeral there fails with user_not_in_channel)."""
        log.info("refused Slack user %s: %s", user_id, what)
        await asyncio.to_thread(_log_refusal, services, user_id, what)
        await self.tell(
            client,
            user_id,
            f"Sorry, only members of the team channel can {what}. Ask the owner to add you.",
            respond,
        )

    async def tell(
        self, client: AsyncWebClient, user_id: str, text: str, respond: AsyncRespond | None = None
    ) -> None:
        """A private answer to one user, never raising: through the response_url when there is
        one (it reaches whoever clicked), else chat.postEphemeral in the lead channel."""
        try:
            if respond is not None and respond.response_url:
                resp = await respond(text=text, response_type="ephemeral", replace_original=False)
                if resp.status_code != 200:
                    log.warning("Slack response_url answered %s for %s: %r", resp.status_code, user_id, text)
                return
            await client.chat_postEphemeral(channel=self.channel, user=user_id, text=text)
        except SlackApiError as exc:
            log.warning("could not tell Slack user %s (%s): %r", user_id, exc.response.get("error"), text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("could not tell Slack user %s (%s): %r", user_id, exc, text)


def _log_refusal(services: Services, user_id: str, what: str) -> None:
    with services.db.session() as s:
        services.log(s, "slack_refused", None, user_id, what=what)
