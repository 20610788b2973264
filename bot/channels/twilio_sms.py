"""SMS through Twilio: verify the webhook's signature, parse the form, send through the REST API.

The signature (X-Twilio-Signature) is an HMAC of the public URL configured at Twilio plus the POST parameters, with
the account's auth token; it is checked with twilio's own RequestValidator before any parameter is read. Twilio's
opt-out and opt-in keywords (STOP, START, YES, ...) are Twilio's: it handles them itself, so the gateway does not
answer them, and uses its own words for its own commands. HELP and INFO are answered: to this service "help" is a
woman asking for help, maybe in danger, and Twilio's own help reply (where it sends one) says nothing about 999.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Mapping, Optional, Sequence

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import OPTED_OUT, SMS, ChannelError, InboundMessage, Sent, VerificationFailed, delivery_key
from bot.channels.sms_format import sms_bodies

logger = logging.getLogger(__name__)

#: Twilio's default opt-out and opt-in keywords (matched on the whole message, any case): after an opt-out Twilio
#: refuses to deliver to her number, after an opt-in it confirms itself. HELP and INFO are not here: see above.
RESERVED_KEYWORDS = frozenset({
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "STOP ALL",
    "START", "YES", "UNSTOP", "OPTIN",
})

_API_BASE = "https://api.twilio.com"
#: Twilio's error code for a number that replied STOP (an "unsubscribed recipient")
OPTED_OUT_CODE = 21610


def is_reserved(text: str) -> bool:
    return " ".join(text.split()).upper().strip(".!") in RESERVED_KEYWORDS


class _HttpClient(AsyncTwilioHttpClient):
    """twilio's aiohttp client, sending to ``api_url`` (a local recording server in tests), with its request log
    (which would print URLs with message SIDs) silenced."""

    def __init__(self, api_url: str, timeout: float) -> None:
        quiet = logging.getLogger("bot.channels.twilio_sms.http")
        quiet.disabled = True
        super().__init__(timeout=timeout, logger=quiet)
        self._api_url = api_url.rstrip("/")

    async def request(self, method, url, *args, **kwargs):  # noqa: ANN001 - the base class's signature
        if url.startswith(_API_BASE):
            url = self._api_url + url[len(_API_BASE):]
        return await super().request(method, url, *args, **kwargs)


class TwilioSms:
    """The SMS adapter. ``verify`` and ``parse`` are synchronous and cheap; ``send`` and ``forget`` call Twilio."""

    name = SMS
    form = SMS

    def __init__(self, account_sid: str, auth_token: str, sender: str, webhook_url: str,
                 api_url: str = _API_BASE, timeout: float = 10.0, retries: int = 2) -> None:
        self._validator = RequestValidator(auth_token)
        self._secret = auth_token
        self._webhook_url = webhook_url
        self._sender = sender
        self._http = _HttpClient(api_url, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._retries = retries

    # ---- inbound -------------------------------------------------------------------------------------------
    def verify(self, params: Mapping[str, str], signature: Optional[str]) -> None:
        """Raise VerificationFailed unless Twilio signed exactly these parameters for our public URL."""
        if not signature or not self._validator.validate(self._webhook_url, dict(params), signature):
            raise VerificationFailed("twilio signature")

    def parse(self, params: Mapping[str, str], signature: str = "") -> Optional[InboundMessage]:
        """An InboundMessage, or None for what is not ours to answer (reserved keywords, malformed deliveries).

        Its delivery keys come from the message SID and from the signature: Twilio signs the parameters' keys and
        values run together, so a replay that moves a boundary (MessageSid swallowing the next parameter) has a new
        SID but the same signature."""
        sid = params.get("MessageSid") or params.get("SmsSid")
        address = params.get("From")
        if not sid or not address:
            return None
        text = params.get("Body") or ""
        if is_reserved(text):
            return None
        keys = (delivery_key(self._secret, "sid", sid),) + (
            (delivery_key(self._secret, "signature", signature),) if signature else ())
        return InboundMessage(SMS, sid, address, text, provider_message_ids=(sid,), delivery_keys=keys)

    # ---- outbound ------------------------------------------------------------------------------------------
    def bodies(self, text: str, neutral_line: str) -> list:
        return sms_bodies(text, neutral_line)

    async def send(self, address: str, text: str) -> Sent:
        """Send one prepared body (see ``bodies``); returns the message SID Twilio gave it."""
        sender = {"messaging_service_sid": self._sender} if self._sender.startswith("MG") else {"from_": self._sender}
        for attempt in range(self._retries + 1):
            try:
                message = await self._client.messages.create_async(to=address, body=text, **sender)
                return Sent([message.sid])
            except TwilioRestException as exc:
                # 4xx other than 429 will not get better by retrying; the exception text names the number: not logged
                if exc.code == OPTED_OUT_CODE:  # she replied STOP to this number: Twilio will not deliver
                    raise ChannelError("twilio send failed: 21610", reason=OPTED_OUT) from None
                if (exc.status != 429 and exc.status < 500) or attempt == self._retries:
                    raise ChannelError(f"twilio send failed: HTTP {exc.status}") from None
            except (TwilioException, OSError, asyncio.TimeoutError) as exc:
                if attempt == self._retries:
                    raise ChannelError(f"twilio send failed: {exc.__class__.__name__}") from None
            await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    async def forget(self, address: str, provider_message_ids: Sequence[str]) -> int:
        """Delete the message records Twilio holds (only delivered or received messages can be deleted)."""
        deleted = 0
        for sid in provider_message_ids:
            try:
                if await self._client.messages(sid).delete_async():
                    deleted += 1
            except (TwilioException, OSError, asyncio.TimeoutError) as exc:
                status = getattr(exc, "status", exc.__class__.__name__)
                logger.warning("event=twilio_delete_failed status=%s", status)
        return deleted

    async def close(self) -> None:
        await self._http.close()
