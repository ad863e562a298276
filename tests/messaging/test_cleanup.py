"""manage.py cleanup --events trims stored events past retention, and no others."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from messaging.models import StreamChannel, StreamEvent
from messaging.stream_storage import HarborEventStorage
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_cleanup_events_trims_only_what_is_past_retention(world: dict[str, Any]) -> None:
    for i in range(3):
        factories.send(world["bo"], world["acme"], [world["ann"]], body=f"old {i}")
    StreamEvent.objects.update(created_at=timezone.now() - dt.timedelta(hours=49))
    factories.send(world["bo"], world["acme"], [world["ann"]], body="new")
    old_ids = set(
        StreamEvent.objects.filter(
            created_at__lt=timezone.now() - dt.timedelta(hours=1)
        ).values_list("id", flat=True)
    )
    assert old_ids
    out = StringIO()
    call_command("cleanup", "--events", stdout=out)
    assert f"trimmed {len(old_ids)}" in out.getvalue()
    assert not StreamEvent.objects.filter(id__in=old_ids).exists()
    assert StreamEvent.objects.count() > 0
    channel = f"u-{world['ann'].pk}-acme"
    storage = HarborEventStorage()
    # A client that last saw a trimmed event must reset; one at the newest is fine.
    with pytest.raises(Exception, match="No such event"):
        storage.get_events(channel, 1)
    current = StreamChannel.objects.get(name=channel).last_id
    assert storage.get_events(channel, current) == []
    assert [e.id for e in storage.get_events(channel, current - 1)] == [current]


def test_cleanup_keeps_at_least_a_day(world: dict[str, Any]) -> None:
    factories.send(world["bo"], world["acme"], [world["ann"]], body="recent")
    StreamEvent.objects.update(created_at=timezone.now() - dt.timedelta(hours=20))
    call_command("cleanup", "--events", "--event-hours", "1", stdout=StringIO())
    assert StreamEvent.objects.count() > 0
