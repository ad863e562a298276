"""The application input queue Daphne is given (harbor_messaging/media/daphne_body.py)."""

from __future__ import annotations

import asyncio
import io

import pytest

from harbor_messaging.media.daphne_body import CHUNK, LazyBodyQueue


def test_the_body_is_read_a_chunk_at_a_time_and_daphnes_placeholder_dropped() -> None:
    async def run() -> list[dict[str, object]]:
        queue = LazyBodyQueue(io.BytesIO(b"x" * (CHUNK + 5)))
        queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        got = [await queue.get(), await queue.get()]
        queue.put_nowait({"type": "http.disconnect"})
        got.append(await queue.get())
        return got

    first, second, third = asyncio.run(run())
    assert (len(first["body"]), first["more_body"]) == (CHUNK, True)  # type: ignore[arg-type]
    assert (second["body"], second["more_body"]) == (b"xxxxx", False)
    assert third == {"type": "http.disconnect"}


def test_a_waiting_receive_wakes_on_put_and_survives_a_cancelled_wait() -> None:
    async def run() -> dict[str, object]:
        queue = LazyBodyQueue(None)
        assert queue.qsize() == 0
        waiting = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        receive = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        assert not receive.done()
        queue.put_nowait({"type": "http.disconnect"})
        queue.put_nowait({"type": "http.request", "body": b"late"})  # no body: kept, in order
        message = await asyncio.wait_for(receive, 1)
        assert (await queue.get())["body"] == b"late"
        return message

    assert asyncio.run(run()) == {"type": "http.disconnect"}
