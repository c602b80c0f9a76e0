"""Limit defaults and the ``TRIBUTARY_LIMITS_<PROVIDER>`` override format."""

from __future__ import annotations

import pytest
from tributary_common.errors import ConfigError
from tributary_common.ratelimit import LimitConfig, ProviderLimits, Window, parse_override
from tributary_common.settings import Settings


def test_defaults_follow_the_design_and_provider_reference() -> None:
    config = LimitConfig()
    assert config.for_provider("meta_ads") == ProviderLimits(
        provider=(Window(10, 60), Window(200, 3600)), concurrency=2
    )
    assert config.for_provider("google_ads") == ProviderLimits(
        provider=(Window(5, 60), Window(100, 3600)), concurrency=1
    )
    assert config.for_provider("github").account == (Window(5000, 3600),)
    assert config.for_provider("youtube").provider == (Window(10_000, 86400),)
    assert config.for_provider("x").account == (Window(900, 900),)
    assert config.for_provider("instagram").account == (Window(200, 3600),)
    assert config.for_provider("unknown") == ProviderLimits()


def test_full_override_replaces_every_section() -> None:
    limits = parse_override(
        "provider=10/1s, 200/1h; account=5000/1h; concurrency=3",
        LimitConfig().for_provider("meta_ads"),
        "TRIBUTARY_LIMITS_META_ADS",
    )
    assert limits == ProviderLimits(
        provider=(Window(10, 1), Window(200, 3600)), account=(Window(5000, 3600),), concurrency=3
    )


def test_absent_sections_keep_their_defaults() -> None:
    config = LimitConfig.from_overrides({"meta_ads": "concurrency=none"})
    assert config.for_provider("meta_ads").provider == (Window(10, 60), Window(200, 3600))
    assert config.for_provider("meta_ads").concurrency is None


@pytest.mark.parametrize(
    ("text", "window"),
    [("10/s", Window(10, 1)), ("900/15m", Window(900, 900)), ("3/0.5s", Window(3, 0.5))],
)
def test_window_spellings(text: str, window: Window) -> None:
    assert parse_override(f"provider={text}", None, "V").provider == (window,)


def test_window_names_are_short_labels() -> None:
    assert [Window(1, s).name for s in (1, 60, 900, 3600, 86400, 90, 0.5)] == [
        "1s",
        "1m",
        "15m",
        "1h",
        "1d",
        "90s",
        "0.5s",
    ]


def test_a_provider_without_defaults_can_be_configured() -> None:
    config = LimitConfig.from_overrides({"mastodon": "account=300/5m;concurrency=4"})
    assert config.for_provider("mastodon") == ProviderLimits(
        account=(Window(300, 300),), concurrency=4
    )


def test_none_removes_a_section() -> None:
    limits = parse_override("provider=none", LimitConfig().for_provider("google_ads"), "V")
    assert limits.provider == () and limits.concurrency == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("provider=10", "bad limit '10'"),
        ("provider=10/1w", "bad limit"),
        ("provider=0/1m", "units >= 1"),
        ("provider=10/1m,20/60s", "same window"),
        ("acount=5/1h", "unknown key 'acount'"),
        ("concurrency=0", "concurrency must be >= 1"),
        ("concurrency=two", "integer or none"),
        ("provider", "expected key=value"),
        ("provider=1/1s;provider=2/1s", "given twice"),
        (" ; ", "empty override"),
    ],
)
def test_parse_errors_name_the_variable(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match="TRIBUTARY_LIMITS_META_ADS") as info:
        LimitConfig.from_overrides({"meta_ads": raw})
    assert message in str(info.value)


def test_settings_from_env_feed_the_config() -> None:
    settings = Settings.from_env({"TRIBUTARY_LIMITS_GOOGLE_ADS": "provider=2/1m;concurrency=1"})
    config = LimitConfig.from_overrides(settings.limit_overrides)
    assert config.for_provider("google_ads").provider == (Window(2, 60),)
