"""The API key never leaks: not in logs, stderr, exception texts, chains or formatted tracebacks."""

from __future__ import annotations

import logging
import sys
import traceback

import pytest

from engine.errors import FMPError
from engine.fmp.endpoints import PRICES, PROFILE
from engine.logs import RedactingFormatter, redact
from fakefmp import FAULT_KINDS, RunningServer
from tests.engine.fmp.conftest import CANARY_KEY, make_client


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _assert_clean(exc: BaseException, *texts: str) -> None:
    for link in _chain(exc):
        assert CANARY_KEY not in str(link)
        assert CANARY_KEY not in repr(link)
        assert CANARY_KEY not in repr(vars(link)) if hasattr(link, "__dict__") else True
    assert CANARY_KEY not in "".join(traceback.format_exception(exc))
    for text in texts:
        assert CANARY_KEY not in text


@pytest.mark.parametrize("kind", [*FAULT_KINDS, "401", "402", "429"])
async def test_client_key_absent_everywhere_for_every_failure(
    fake: RunningServer, kind: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """For each fault kind and error status the canary key appears in no captured output."""
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    config = fake.state.config
    if kind in FAULT_KINDS:
        config.fault_rate, config.faults = 1.0, (kind,)
    elif kind == "401":
        config.api_key = "another-key"
    elif kind == "402":
        config.entitlement_denied = ("MMM",)
    else:
        fake.state.limit.limit = 0
    async with make_client(fake) as fmp:
        with pytest.raises(FMPError) as caught:
            await fmp.fetch(PROFILE, symbol="MMM")
    out, err = capfd.readouterr()
    assert caplog.records, "the failure should have been logged at least once"
    _assert_clean(caught.value, caplog.text, out, err)


async def test_client_key_absent_from_logs_of_a_successful_price_run(
    fake: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logging of ordinary requests never shows the key."""
    caplog.set_level(logging.DEBUG)
    async with make_client(fake) as fmp:
        await fmp.fetch(PRICES, symbol="MMM")
    assert "historical-price-eod/full" in caplog.text
    assert CANARY_KEY not in caplog.text


def test_redacting_formatter_masks_key_in_message_and_traceback() -> None:
    """The backstop formatter masks a registered key and any apikey=… shape, tracebacks included."""
    formatter = RedactingFormatter(secrets=[CANARY_KEY])
    try:
        raise RuntimeError(f"GET https://x/stable/profile?symbol=A&apikey={CANARY_KEY}")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "key %s", (CANARY_KEY,), sys.exc_info())
    text = formatter.format(record)
    assert CANARY_KEY not in text
    assert "***" in text
    json_text = RedactingFormatter(json_lines=True, secrets=[CANARY_KEY]).format(record)
    assert CANARY_KEY not in json_text
    assert '"exc":' in json_text
    unregistered = RedactingFormatter().format(record)  # shape-based masking only
    assert f"apikey={CANARY_KEY}" not in unregistered
    assert "apikey=***" in unregistered
    assert redact("headers {'apikey': 'abc123'}") == "headers {'apikey': '***'}"
