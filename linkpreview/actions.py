"""Writes for links and previews: links recorded with their message (on send and on edit),
previews claimed by a worker and finished, refreshed or removed by the sender, trimmed.

Fetches never happen here: a write marks previews pending and wakes the worker once the
transaction commits; a finished preview reaches open pages as ``message:update``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from harbor_messaging.errors import HarborError, NotFound
from harbor_messaging.tenants.selectors import link_previews_enabled_for
from messaging.models import Message
from messaging.rendering import body_links

from . import worker
from .addresses import is_allowed, parse_networks
from .extraction import DESCRIPTION_MAX, SITE_NAME_MAX, TITLE_MAX
from .fetching import PreviewOutcome
from .inspection import URL_MAX, InvalidUrl, LinkInfo, inspect_url
from .models import LinkPreview, MessageLink
from .selectors import link_json, links_by_message, thumbnail_url

logger = logging.getLogger(__name__)

LINKS_PER_MESSAGE = 50
PREVIEWS_PER_MESSAGE = 10
THUMBNAIL_DIR = "linkpreview"
MAX_ATTEMPTS = 3


class PreviewUnavailable(HarborError):
    code = "preview_unavailable"
    status = 422


def lease_seconds() -> float:
    # A page and its image, each within the fetcher's deadline, and some slack.
    return 2 * float(settings.LINKPREVIEW_TIMEOUT_SECONDS) + 30


# -- checks ----------------------------------------------------------------------------------


def static_refusal(info: LinkInfo) -> str | None:
    """Why the URL may never be fetched, known without the network; None if it may be."""
    if info.has_userinfo:
        return "bad_url"
    if info.port not in settings.LINKPREVIEW_PORTS:
        return "forbidden_port"
    if info.is_ip:
        address = ipaddress.ip_address(info.domain)
        if not is_allowed(address, parse_networks(settings.LINKPREVIEW_ALLOW_NETWORKS)):
            return "forbidden_address"
    return None


def normalized_set(urls: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for url in urls:
        try:
            out.add(inspect_url(url).normalized_url)
        except InvalidUrl:
            continue
    return out


def found_links(body: str) -> list[LinkInfo]:
    """The body's distinct http(s) links in order, as linkify makes them clickable."""
    infos: list[LinkInfo] = []
    seen: set[str] = set()
    for href in body_links(body):
        try:
            info = inspect_url(href)
        except InvalidUrl:
            continue
        if info.normalized_url in seen:
            continue
        seen.add(info.normalized_url)
        infos.append(info)
        if len(infos) >= LINKS_PER_MESSAGE:
            break
    return infos


# -- previews in the cache -------------------------------------------------------------------


def _fresh(preview: LinkPreview, now: dt.datetime) -> bool:
    return preview.expires_at is not None and preview.expires_at > now


def _preview_rows(urls: Collection[str]) -> dict[str, LinkPreview]:
    """The cache rows of these URLs, made where missing, locked until the commit (so a
    worker finishing one waits, then sees the links this transaction adds)."""
    if not urls:
        return {}
    # Always in one order, so two sends sharing links never wait on each other in a circle.
    ordered = sorted(set(urls))
    LinkPreview.objects.bulk_create(
        [LinkPreview(normalized_url=url) for url in ordered], ignore_conflicts=True
    )
    rows = (
        LinkPreview.objects.select_for_update()
        .filter(normalized_url__in=ordered)
        .order_by("normalized_url")
    )
    return {row.normalized_url: row for row in rows}


def _make_pending(preview: LinkPreview, now: dt.datetime) -> None:
    LinkPreview.objects.filter(pk=preview.pk).update(
        status=LinkPreview.Status.PENDING, requested_at=now, claimed_by="", claimed_until=None
    )
    preview.status = LinkPreview.Status.PENDING


def _due(preview: LinkPreview, now: dt.datetime) -> bool:
    """Whether the preview needs a fetch (it is then pending); a fresh one does not."""
    if preview.status == LinkPreview.Status.PENDING:
        return True
    if _fresh(preview, now):
        return False
    _make_pending(preview, now)
    return True


def _show(link: MessageLink, preview: LinkPreview) -> None:
    link.status = MessageLink.Status.READY
    link.title = preview.title
    link.description = preview.description
    link.site_name = preview.site_name
    link.thumbnail_url = thumbnail_url(preview.thumbnail)


def _blank(link: MessageLink, status: str) -> None:
    link.status = status
    link.title = link.description = link.site_name = link.thumbnail_url = ""


def enqueue_on_commit() -> None:
    """Wake the worker once the pending rows are committed and visible to it."""
    transaction.on_commit(worker.wake, robust=True)


# -- on send and on edit ---------------------------------------------------------------------


def do_record_links(
    *, message: Message, omit: Collection[str] = (), replace: bool = False
) -> list[MessageLink]:
    """Store the message body's links and ask for their previews (inside the message's own
    transaction). ``omit``: URLs whose preview the sender dropped. ``replace`` (an edit):
    links already there keep their preview, or its removal."""
    infos = found_links(message.body)
    previous: dict[str, MessageLink] = {}
    if replace:
        previous = {
            link.normalized_url: link for link in MessageLink.objects.filter(message=message)
        }
        if previous:
            MessageLink.objects.filter(message=message).delete()
    if not infos:
        return []
    omitted = normalized_set(omit)
    removed = {url for url, link in previous.items() if link.status == MessageLink.Status.REMOVED}
    # Off for the whole site, or for this tenant by its admin: links, but no previews.
    previews_on = link_previews_enabled_for(message.tenant)
    wanted = [
        info.normalized_url
        for info in infos[:PREVIEWS_PER_MESSAGE]
        if previews_on
        and static_refusal(info) is None
        and info.normalized_url not in omitted | removed
    ]
    previews = _preview_rows(wanted)
    now = timezone.now()
    links: list[MessageLink] = []
    due = False
    for position, info in enumerate(infos):
        url = info.normalized_url
        link = MessageLink(
            message=message,
            position=position,
            url=info.url[:URL_MAX],
            normalized_url=url,
            domain=info.domain[:255],
            status=MessageLink.Status.UNAVAILABLE,
        )
        before = previous.get(url)
        preview = previews.get(url)
        if url in omitted or url in removed:
            link.status = MessageLink.Status.REMOVED
        elif preview is not None:
            link.preview = preview
            if (
                before is not None
                and before.preview_id == preview.pk
                and before.status
                in {
                    MessageLink.Status.READY,
                    MessageLink.Status.PENDING,
                }
            ):
                # An edit that kept the link keeps what it showed (or is still waiting for).
                for name in ("status", "title", "description", "site_name", "thumbnail_url"):
                    setattr(link, name, getattr(before, name))
                due = due or before.status == MessageLink.Status.PENDING
            elif _due(preview, now):
                link.status = MessageLink.Status.PENDING
                due = True
            elif preview.status == LinkPreview.Status.READY:
                _show(link, preview)
        links.append(link)
    MessageLink.objects.bulk_create(links)
    if due:
        enqueue_on_commit()
    return links


def do_record_edited_links(*, message: Message) -> list[dict[str, Any]]:
    """An edited body's links, stored again; their JSON for the edit's ``message:update``."""
    return [link_json(link) for link in do_record_links(message=message, replace=True)]


# -- the preview endpoint --------------------------------------------------------------------


def do_request_preview(*, url: str) -> LinkPreview:
    """The cached preview of the URL, asking for a fetch when there is none fresh.

    Raises PreviewUnavailable for a URL that may not be fetched, or whose fetch failed
    lately; InvalidUrl for one that is no http(s) URL at all."""
    info = inspect_url(url)
    if not settings.LINKPREVIEW_ENABLED:
        raise PreviewUnavailable("Link previews are switched off.")
    refusal = static_refusal(info)
    if refusal is not None:
        raise PreviewUnavailable("This link cannot be previewed.", details={"reason": refusal})
    now = timezone.now()
    with transaction.atomic():
        preview = _preview_rows([info.normalized_url])[info.normalized_url]
        if preview.status == LinkPreview.Status.FAILED and _fresh(preview, now):
            raise PreviewUnavailable(
                "This link cannot be previewed.", details={"reason": preview.error}
            )
        if _due(preview, now):
            enqueue_on_commit()
    return preview


# -- the worker's side -----------------------------------------------------------------------


def claim_previews(*, worker_id: str, limit: int) -> list[LinkPreview]:
    """Pending previews for this worker alone: each row is taken by one conditional UPDATE,
    so two workers (threads, processes or machines) never fetch the same URL twice."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=lease_seconds())
    claimable = Q(status=LinkPreview.Status.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    candidates = list(
        LinkPreview.objects.filter(claimable)
        .order_by("requested_at", "pk")
        .values_list("pk", flat=True)[: limit * 2]
    )
    claimed: list[int] = []
    for pk in candidates:
        if len(claimed) >= limit:
            break
        taken = LinkPreview.objects.filter(claimable, pk=pk).update(
            claimed_by=worker_id, claimed_until=lease, attempts=F("attempts") + 1
        )
        if taken:
            claimed.append(pk)
    if not claimed:
        return []
    return list(LinkPreview.objects.filter(pk__in=claimed, claimed_by=worker_id))


def _store_thumbnail(data: bytes) -> str:
    return default_storage.save(
        f"{THUMBNAIL_DIR}/{secrets.token_urlsafe(18)}.jpg", ContentFile(data)
    )


def do_finish_preview(*, preview_id: int, worker_id: str, outcome: PreviewOutcome) -> list[int]:
    """Record a fetch's outcome in the cache and in every link waiting for it, then tell
    those messages' open pages. Returns the ids of the messages told."""
    thumbnail = _store_thumbnail(outcome.thumbnail) if outcome.ok and outcome.thumbnail else ""
    with transaction.atomic():
        preview = LinkPreview.objects.select_for_update().filter(pk=preview_id).first()
        if preview is None or preview.claimed_by != worker_id:
            # Refreshed or taken over meanwhile; the newer claim will finish it.
            if thumbnail:
                default_storage.delete(thumbnail)
            return []
        now = timezone.now()
        metadata = outcome.metadata
        if outcome.ok and metadata is not None:
            preview.status = LinkPreview.Status.READY
            preview.error = ""
            preview.final_url = outcome.final_url[:URL_MAX]
            preview.title = metadata.title[:TITLE_MAX]
            preview.description = metadata.description[:DESCRIPTION_MAX]
            preview.site_name = metadata.site_name[:SITE_NAME_MAX]
            preview.image_url = metadata.image_url[:URL_MAX]
            preview.thumbnail = thumbnail
            preview.expires_at = now + dt.timedelta(seconds=settings.LINKPREVIEW_CACHE_SECONDS)
        else:
            preview.status = LinkPreview.Status.FAILED
            preview.error = (outcome.error or "failed")[:40]
            preview.title = preview.description = preview.site_name = ""
            preview.image_url = preview.thumbnail = preview.final_url = ""
            preview.expires_at = now + dt.timedelta(seconds=settings.LINKPREVIEW_FAILURE_SECONDS)
        preview.fetched_at = now
        preview.claimed_by = ""
        preview.claimed_until = None
        preview.save()
        waiting = MessageLink.objects.filter(
            preview_id=preview.pk, status=MessageLink.Status.PENDING
        )
        message_ids = sorted(set(waiting.values_list("message_id", flat=True)))
        if not message_ids:
            return []
        if preview.status == LinkPreview.Status.READY:
            waiting.update(
                status=MessageLink.Status.READY,
                title=preview.title,
                description=preview.description,
                site_name=preview.site_name,
                thumbnail_url=thumbnail_url(preview.thumbnail),
            )
        else:
            waiting.update(
                status=MessageLink.Status.UNAVAILABLE,
                title="",
                description="",
                site_name="",
                thumbnail_url="",
            )
        notify_links_changed(message_ids=message_ids)
    return message_ids


def do_give_up(*, preview: LinkPreview, worker_id: str) -> list[int]:
    """A preview whose fetch kept dying (the worker crashed on it): failed, for a while."""
    return do_finish_preview(
        preview_id=preview.pk,
        worker_id=worker_id,
        outcome=PreviewOutcome(ok=False, error="gave_up"),
    )


def notify_links_changed(*, message_ids: list[int]) -> None:
    """``message:update`` with ``links`` to each message's sender and recipients (or its
    tenant), exactly as an edit is told."""
    from messaging.actions import notify_message_updated

    messages = list(
        Message.objects.filter(pk__in=message_ids, deleted_at__isnull=True).select_related("tenant")
    )
    links = links_by_message([m.pk for m in messages])
    for message in messages:
        notify_message_updated(message=message, changed={"links": links.get(message.pk, [])})


# -- the sender's refresh and remove ---------------------------------------------------------


def _sender_links(
    *, user: User, message_id: int, url: str | None
) -> tuple[Message, list[MessageLink]]:
    from messaging.actions import check_sender_of

    message = check_sender_of(user=user, message_id=message_id).message
    links = list(MessageLink.objects.select_for_update().filter(message_id=message.pk))
    if url is not None:
        wanted = normalized_set([url])
        links = [link for link in links if link.normalized_url in wanted]
        if not links:
            raise NotFound("The message has no such link.")
    return message, links


def do_refresh_previews(
    *, user: User, message_id: int, url: str | None = None
) -> list[dict[str, Any]]:
    """Fetch the message's previews again (all, or the one of ``url``), also removed ones."""
    if not settings.LINKPREVIEW_ENABLED:
        raise PreviewUnavailable("Link previews are switched off.")
    with transaction.atomic():
        message, links = _sender_links(user=user, message_id=message_id, url=url)
        if not link_previews_enabled_for(message.tenant):
            raise PreviewUnavailable("Link previews are switched off for this tenant.")
        eligible = [
            link
            for link in links
            if link.position < PREVIEWS_PER_MESSAGE
            and static_refusal(inspect_url(link.normalized_url)) is None
        ]
        if not eligible:
            raise PreviewUnavailable("These links cannot be previewed.")
        previews = _preview_rows([link.normalized_url for link in eligible])
        now = timezone.now()
        for preview in previews.values():
            _make_pending(preview, now)
        for link in eligible:
            link.preview = previews[link.normalized_url]
            _blank(link, MessageLink.Status.PENDING)
        MessageLink.objects.bulk_update(
            eligible,
            ["preview", "status", "title", "description", "site_name", "thumbnail_url"],
        )
        out = [link_json(link) for link in MessageLink.objects.filter(message_id=message.pk)]
        from messaging.actions import notify_message_updated

        notify_message_updated(message=message, changed={"links": out})
        enqueue_on_commit()
    return out


def do_remove_previews(
    *, user: User, message_id: int, url: str | None = None
) -> list[dict[str, Any]]:
    """Take the message's previews down (all, or the one of ``url``); the links stay."""
    with transaction.atomic():
        message, links = _sender_links(user=user, message_id=message_id, url=url)
        for link in links:
            _blank(link, MessageLink.Status.REMOVED)
        MessageLink.objects.bulk_update(
            links, ["status", "title", "description", "site_name", "thumbnail_url"]
        )
        out = [link_json(link) for link in MessageLink.objects.filter(message_id=message.pk)]
        from messaging.actions import notify_message_updated

        notify_message_updated(message=message, changed={"links": out})
    return out


# -- clean-up --------------------------------------------------------------------------------


def do_trim_previews(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete cached previews expired for ``older_than`` that no message links to, with
    their thumbnails (unless a message still shows one)."""
    cutoff = timezone.now() - older_than
    stale = LinkPreview.objects.filter(expires_at__lt=cutoff, links__isnull=True).exclude(
        status=LinkPreview.Status.PENDING
    )
    rows = list(stale.values_list("pk", "thumbnail"))
    if not rows:
        return 0
    shown = set(
        MessageLink.objects.exclude(thumbnail_url="").values_list("thumbnail_url", flat=True)
    )
    LinkPreview.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    for _pk, name in rows:
        if name and thumbnail_url(name) not in shown:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not delete thumbnail %s", name, exc_info=True)
    return len(rows)
