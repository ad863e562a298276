"""GRIP_URL: one Pushpin or several, each with the key that makes Grip-Sig checked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from harbor_messaging.settings import _grip_proxies


def test_none_one_or_several_pushpins() -> None:
    assert _grip_proxies("") == []
    assert _grip_proxies(" , ") == []
    (one,) = _grip_proxies("http://127.0.0.1:5561?iss=pushpin&key=s3cret")
    assert one == {
        "control_uri": "http://127.0.0.1:5561",
        "control_iss": "pushpin",
        "key": "s3cret",
    }
    both = _grip_proxies("http://10.0.0.1:5561?key=a, http://10.0.0.2:5561?key=b")
    assert [(p["control_uri"], p["key"]) for p in both] == [
        ("http://10.0.0.1:5561", "a"),
        ("http://10.0.0.2:5561", "b"),
    ]


@pytest.mark.parametrize(
    "value", ["http://127.0.0.1:5561", "http://10.0.0.1:5561?key=a,http://10.0.0.2:5561"]
)
def test_a_pushpin_without_its_key_is_refused(value: str) -> None:
    # Without a key django-grip takes any request with a Grip-Sig header for Pushpin's.
    with pytest.raises(ImproperlyConfigured, match="sig_key"):
        _grip_proxies(value)
