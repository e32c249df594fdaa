"""The phone system (PBX): originate a call from an operator's extension to a borrower.

The desk speaks a small subset of the Asterisk REST Interface (ARI); the sandbox
(``tui_desk.integrations.pbx_sandbox``, ``tui-desk pbx-sandbox``) implements the same
subset so the client is tested over real HTTP.

Request (basic auth with the ARI user and password; parameters in the query string)::

    POST {pbx_url}/ari/channels
        ?endpoint=PJSIP/{operator extension}   the operator's phone rings first
        &extension={number}                    then the dialplan dials this (digits, in
                                               the national form: 13812345678, 01012345678)
        &context={pbx_context}&priority=1
        &callerId={text}                       shown on the operator's phone
        &timeout={seconds}                     how long the operator's phone rings

Answer: ``200`` with the new channel as JSON; the desk reads ``id`` (the channel id) and,
when the PBX records calls, ``recording`` (the recording's name, e.g. ``"rec-..."``).
Stock ARI has no ``recording`` field: then the channel id is the call reference (the
recording is filed under it). Errors: ``400`` bad parameters, ``401`` credentials,
``404``/``409``/``422`` the endpoint or dialplan refused, ``5xx`` the PBX failed; ARI
error bodies are ``{"message": "..."}``.

Every failure is a :class:`PbxError` whose text is one line for the operator; it never
contains the password.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_desk.i18n import _

if TYPE_CHECKING:  # the HTTP client loads on the first call, not with the desk
    import httpx

ORIGINATE_PATH = "/ari/channels"
DEFAULT_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
RING_SECONDS = 30
MAX_REF = 100  # contact_attempt.call_ref
_EXTENSION = re.compile(r"[0-9A-Za-z_.+-]{1,20}")
_DIGITS = re.compile(r"[0-9]{3,20}")


class PbxError(Exception):
    """The PBX did not place the call; ``str()`` is one line for the operator.

    ``maybe_placed`` is True when the request left but no answer came back (a read
    timeout): the call may be ringing although the desk cannot tell.
    """

    def __init__(self, message: str, *, maybe_placed: bool = False) -> None:
        super().__init__(message)
        self.maybe_placed = maybe_placed


class PbxUnavailable(PbxError):
    """Nothing answered at the PBX's address (down, wrong address, network)."""


class PbxAuthError(PbxError):
    """The PBX refused the credentials (401/403)."""


class PbxRefused(PbxError):
    """The PBX answered but refused or failed the call (4xx/5xx)."""


class PbxBadAnswer(PbxError):
    """The PBX answered with something the desk does not understand."""


@dataclass(frozen=True)
class PbxConfig:
    url: str
    user: str | None
    password: str | None
    context: str = "from-internal"
    timeout: float = DEFAULT_TIMEOUT

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    @property
    def where(self) -> str:
        """The address for messages: scheme, host and port only (never a password)."""
        import httpx

        url = httpx.URL(self.base)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}"


@dataclass(frozen=True)
class OriginatedCall:
    channel_id: str
    recording: str | None

    @property
    def call_ref(self) -> str:
        """What the contact log keeps: the recording's name, else the channel id."""
        return (self.recording or self.channel_id)[:MAX_REF]


class PbxClient:
    """Originates calls through the PBX; one short-lived HTTP connection per call."""

    def __init__(self, config: PbxConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._transport = transport

    def originate(self, extension: str, number: str, *, caller_id: str) -> OriginatedCall:
        """Ring ``extension`` (the operator), then dial ``number`` (digits) from it."""
        if not _EXTENSION.fullmatch(extension):
            raise PbxError(_("the extension {ext!r} is not valid").format(ext=extension))
        if not _DIGITS.fullmatch(number):
            raise PbxError(_("the number to dial must be 3 to 20 digits"))
        import httpx

        cfg = self.config
        params = {
            "endpoint": f"PJSIP/{extension}",
            "extension": number,
            "context": cfg.context,
            "priority": "1",
            "callerId": caller_id,
            "timeout": str(RING_SECONDS),
        }
        auth = httpx.BasicAuth(cfg.user or "", cfg.password or "")
        timeout = httpx.Timeout(cfg.timeout, connect=min(CONNECT_TIMEOUT, cfg.timeout))
        try:
            with httpx.Client(timeout=timeout, transport=self._transport) as client:
                response = client.post(cfg.base + ORIGINATE_PATH, params=params, auth=auth)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise PbxUnavailable(
                _("the phone system at {where} does not answer ({error})").format(
                    where=cfg.where, error=_first_line(exc) or type(exc).__name__
                )
            ) from exc
        except httpx.TimeoutException as exc:
            raise PbxUnavailable(
                _(
                    "the phone system at {where} did not answer within {seconds:g} s; "
                    "the call may have been placed"
                ).format(where=cfg.where, seconds=cfg.timeout),
                maybe_placed=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise PbxUnavailable(
                _("cannot reach the phone system at {where}: {error}").format(
                    where=cfg.where, error=_first_line(exc) or type(exc).__name__
                )
            ) from exc
        return _read_answer(response, cfg)


def _read_answer(response: httpx.Response, cfg: PbxConfig) -> OriginatedCall:
    status = response.status_code
    if status in (401, 403):
        raise PbxAuthError(
            _(
                "the phone system refused the desk's credentials ({status}): "
                "check pbx_user and pbx_password"
            ).format(status=status)
        )
    if status >= 400:
        message = _error_message(response)
        if status >= 500:
            raise PbxRefused(
                _("the phone system failed ({status}): {message}").format(
                    status=status, message=message
                )
            )
        raise PbxRefused(
            _("the phone system refused the call ({status}): {message}").format(
                status=status, message=message
            )
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PbxBadAnswer(
            _("the phone system's answer is not JSON ({status}, {size} bytes)").format(
                status=status, size=len(response.content)
            )
        ) from exc
    channel_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(channel_id, str) or not channel_id.strip():
        raise PbxBadAnswer(_("the phone system's answer has no channel id"))
    recording = body.get("recording")
    if recording is not None and (not isinstance(recording, str) or not recording.strip()):
        raise PbxBadAnswer(_("the phone system's recording reference is not a name"))
    return OriginatedCall(channel_id.strip(), recording.strip() if recording else None)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    else:
        text = response.reason_phrase or response.text
    return _one_line(text) or _("no reason given")


def _one_line(text: str, limit: int = 160) -> str:
    return " ".join(text.split())[:limit]


def _first_line(exc: BaseException) -> str:
    return _one_line(str(exc))
