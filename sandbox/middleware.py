"""What every REST request goes through: auth, body parsing, schema checks, rate limits and error shaping."""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Middleware

from sandbox.errors import INVALID_FORM_BODY, DiscordError, broken_rules
from sandbox.httpkit import BODY, UPLOADS, json_response
from sandbox.rules import Rule, Violation, Violations, check_message, message_in
from sandbox.schema import SpecValidator
from sandbox.world import Upload

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Routes a bot calls without its token: Discord authorises these by the interaction/webhook token in the path.
_TOKENLESS_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class ForcedRateLimit:
    """A 429 the emulator has been told to answer with, for the next request matching `route` (None: any)."""

    route: str | None
    retry_after: float
    is_global: bool = False


@dataclass
class ForcedError:
    """An error the emulator has been told to answer the next request matching `route` (None: any) with, instead of
    serving it (e.g. a 400 for an interaction response, as Discord answers a body it refuses)."""

    route: str | None
    status: int
    code: int
    message: str


@dataclass
class RequestRecord:
    """One REST request as the emulator saw it, for tests that check what a bot did."""

    method: str
    route: str
    status: int


@dataclass
class Traffic:
    """Pending forced answers (429s, errors) and the log of requests served."""

    forced: list[ForcedRateLimit | ForcedError] = field(default_factory=list)
    # Bounded: a sandbox left running for a person in a browser must not grow without end.
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=10_000))

    def take_forced(self, route: str) -> ForcedRateLimit | ForcedError | None:
        """Remove and return the first forced answer that applies to `route` ("METHOD /template")."""
        for index, forced in enumerate(self.forced):
            if forced.route is None or forced.route == route:
                return self.forced.pop(index)
        return None


def route_template(request: web.Request) -> str:
    """The OpenAPI-style path template that matched, e.g. "/channels/{channel_id}/messages"."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return canonical.removeprefix(API_PREFIX)


async def read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    """The JSON body (from `payload_json` for multipart) and any uploaded files; raises DiscordError when unreadable."""
    if request.content_type == "multipart/form-data":
        body: Any = {}
        uploads = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a multipart/* part inside the form
                raise DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body: nested multipart parts are not accepted")
            name = part.name or ""
            if name == "payload_json":
                body = _parse_json(await part.text())
            elif part.filename is not None:
                content_type = part.headers.get("Content-Type")
                uploads.append(Upload(name, part.filename, bytes(await part.read()), content_type))
        return body, uploads
    if request.can_read_body:
        return _parse_json(await request.text()), []
    return None, []


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from exc


def _rate_limit_headers(route: str, remaining: int, reset_after: float) -> dict[str, str]:
    # One generous bucket per route; discord.py only needs consistent headers, never waits on these.
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": f"sandbox-{zlib.crc32(route.encode()):08x}",
    }


def rate_limited_response(route: str, forced: ForcedRateLimit) -> web.Response:
    """A 429 shaped like Discord's: discord.py only honours a 429 with a `Via` header (else it assumes a ban)."""
    headers = _rate_limit_headers(route, 0, forced.retry_after)
    headers.update({"Retry-After": f"{forced.retry_after:.3f}", "Via": "1.1 google"})
    headers["X-RateLimit-Scope"] = "global" if forced.is_global else "user"
    if forced.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": forced.retry_after, "global": forced.is_global}
    return json_response(body, status=429, headers=headers)


def build_middleware(
    bot_token: str, validator: SpecValidator | None, violations: Violations, traffic: Traffic
) -> Middleware:
    """The middleware for API routes; everything else (gateway, attachments) passes straight through."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        template = route_template(request)
        route = f"{request.method} {template}"
        response = await _serve(request, handler, template, route)
        traffic.requests.append(RequestRecord(request.method, template, response.status))
        return response

    async def _serve(request: web.Request, handler: Handler, template: str, route: str) -> web.StreamResponse:
        try:
            forced = traffic.take_forced(route)
            if isinstance(forced, ForcedError):
                log.info("sending a forced %d for %s", forced.status, route)
                return json_response({"message": forced.message, "code": forced.code}, status=forced.status)
            if forced is not None:
                log.info("sending a forced 429 for %s (retry after %.2fs)", route, forced.retry_after)
                return rate_limited_response(route, forced)
            _check_auth(request, template)
            body, uploads = await read_body(request)
            _check_rules(request.method, template, body, uploads)
            _check_schema(request.method, template, body)
            request[BODY], request[UPLOADS] = body, uploads
            response = await handler(request)
        except DiscordError as error:
            for found in error.violations:
                violations.add(Violation(found.rule, found.detail, request.method, request.path))
            response = json_response(error.body(), status=error.status)
        except web.HTTPException:
            raise
        except Exception as exc:
            # A crash here is the emulator's bug, not the bot's; record it so the test that hit it fails loudly.
            log.exception("emulator error serving %s", route)
            violations.add(Violation(Rule.EMULATOR_ERROR, repr(exc), request.method, request.path))
            response = json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        response.headers.update(_rate_limit_headers(route, 49, 1.0))
        return response

    def _check_auth(request: web.Request, template: str) -> None:
        if template.startswith(_TOKENLESS_PREFIXES):
            return
        if request.headers.get("Authorization") != f"Bot {bot_token}":
            raise DiscordError(401, 0, "401: Unauthorized", rule=Rule.UNAUTHORIZED)

    def _check_rules(method: str, template: str, body: Any, uploads: list[Upload]) -> None:
        # Before the schema: a rule names the problem plainly, where a schema error inside a union does not.
        carried = message_in(method, template, body)
        if carried is not None:
            message, editing = carried
            found = check_message(message, [(u.filename, u.data) for u in uploads], editing=editing)
            if found:
                raise broken_rules(found)

    def _check_schema(method: str, template: str, body: Any) -> None:
        if validator is None or body is None:
            return
        problems = validator.validate(method, template, body)
        if problems:
            errors = {"_errors": [{"code": "SCHEMA_INVALID", "message": p} for p in problems]}
            detail = "; ".join(problems)
            raise DiscordError(400, INVALID_FORM_BODY, f"Invalid Form Body: {detail}", rule=Rule.SCHEMA, errors=errors)

    return middleware
