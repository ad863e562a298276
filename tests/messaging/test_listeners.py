"""The listener manager's kept order: the relay's view of a channel's streams."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django_eventstream import views as eventstream_views

from messaging import listeners, relay
from messaging.listeners import KEEP_FROM, ListenerManager


class _Listener:
    def __init__(self, channels: set[str], loop: Any = None) -> None:
        self.channels = channels
        self.loop = loop


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _fill(manager: ListenerManager, channel: str, count: int, loop: Any) -> list[_Listener]:
    made = [_Listener({channel, f"own-{n}"}, loop) for n in range(count)]
    for item in made:
        manager.add_listener(item)
    return made


def test_the_app_made_the_manager_ours() -> None:
    assert isinstance(eventstream_views.get_listener_manager(), ListenerManager)
    assert relay.get_listener_manager() is eventstream_views.get_listener_manager()
    assert listeners.install() is eventstream_views.get_listener_manager()


def test_a_large_channel_is_ordered_by_address_once_until_it_changes(loop: Any) -> None:
    manager = ListenerManager()
    made = _fill(manager, "t-big", KEEP_FROM, loop)
    ordered, loops = manager.ordered("t-big")
    assert list(ordered) == sorted(made, key=id)
    assert loops == {loop}
    assert manager.ordered("t-big") is manager.ordered("t-big")

    newcomer = _Listener({"t-big"}, loop)
    manager.add_listener(newcomer)
    assert newcomer in manager.ordered("t-big")[0]
    manager.remove_listener(made[0])
    after = manager.ordered("t-big")[0]
    assert made[0] not in after and len(after) == KEEP_FROM


def test_a_small_channel_is_not_kept(loop: Any) -> None:
    manager = ListenerManager()
    _fill(manager, "u-1", KEEP_FROM - 1, loop)
    assert manager.ordered("u-1") is not manager.ordered("u-1")
    assert manager.ordered("nobody") == ((), frozenset())
    assert not manager._kept


def test_an_emptied_channel_keeps_nothing(loop: Any) -> None:
    manager = ListenerManager()
    made = _fill(manager, "t-big", KEEP_FROM, loop)
    manager.ordered("t-big")
    for item in made:
        manager.remove_listener(item)
    assert manager.ordered("t-big") == ((), frozenset())
    assert "t-big" not in manager._kept and "t-big" not in manager._changed


def test_an_order_sorted_while_the_channel_changed_is_not_kept(
    loop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream opening between the copy and the keeping must not be left out for good."""
    manager = ListenerManager()
    _fill(manager, "t-big", KEEP_FROM, loop)
    newcomer = _Listener({"t-big"}, loop)
    sort = listeners._order

    def sort_while_one_opens(items: Any) -> Any:
        manager.add_listener(newcomer)  # takes the lock: the copy was made before
        return sort(items)

    monkeypatch.setattr(listeners, "_order", sort_while_one_opens)
    stale, _ = manager.ordered("t-big")
    assert newcomer not in stale  # this one publish went out as of its copy
    monkeypatch.setattr(listeners, "_order", sort)
    assert newcomer in manager.ordered("t-big")[0]


def test_an_order_sorted_while_the_channel_emptied_and_refilled_is_not_kept(
    loop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = ListenerManager()
    made = _fill(manager, "t-big", KEEP_FROM, loop)
    sort = listeners._order
    refilled: list[_Listener] = []

    def sort_while_replaced(items: Any) -> Any:
        for item in made:
            manager.remove_listener(item)
        refilled.extend(_fill(manager, "t-big", KEEP_FROM, loop))
        return sort(items)

    monkeypatch.setattr(listeners, "_order", sort_while_replaced)
    manager.ordered("t-big")
    monkeypatch.setattr(listeners, "_order", sort)
    assert set(manager.ordered("t-big")[0]) == set(refilled)


def test_opens_and_closes_in_threads_never_leave_a_stale_order(loop: Any) -> None:
    manager = ListenerManager()
    steady = _fill(manager, "t-big", KEEP_FROM, loop)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            item = _Listener({"t-big"}, loop)
            manager.add_listener(item)
            manager.remove_listener(item)

    def publish() -> None:
        while not stop.is_set():
            manager.ordered("t-big")

    threads = [threading.Thread(target=churn), threading.Thread(target=publish)]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert set(manager.ordered("t-big")[0]) == set(steady)
    last = _Listener({"t-big"}, loop)
    manager.add_listener(last)
    assert set(manager.ordered("t-big")[0]) == {*steady, last}


def test_install_refuses_once_streams_listen(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = eventstream_views.ListenerManager()
    plain.add_listener(_Listener({"t-x"}))
    monkeypatch.setattr(eventstream_views, "listener_manager", plain)
    with pytest.raises(RuntimeError):
        listeners.install()
    plain.remove_listener(next(iter(plain.listeners_by_channel["t-x"])))
    installed = listeners.install()
    assert eventstream_views.listener_manager is installed
