"""Browser waits in the counter tests are generous: a loaded CI box must not fail them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

EXPECT_TIMEOUT_MS = 20_000


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Let each `expect` wait up to 20 s (Playwright's default is 5 s), then restore it."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield
    expect.set_options(timeout=5_000)
