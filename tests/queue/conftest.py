"""The queue tests make many small centers: hash their demo passwords cheaply."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from layso import auth


@pytest.fixture(autouse=True, scope="module")
def cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest cost: each center seeds 11 users, 0.4 s each at full cost."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield
