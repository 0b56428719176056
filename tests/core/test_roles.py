"""Role names (live_attune/core/roles.py): one therapist, then client, client_2 ..."""

from __future__ import annotations

import pytest

from live_attune.core.roles import CLIENT, THERAPIST, client_role, is_client, roles


def test_roles_are_the_therapist_then_the_clients() -> None:
    assert roles(1) == (THERAPIST,)
    assert roles(2) == ("therapist", "client")
    assert roles(4) == ("therapist", "client", "client_2", "client_3")
    assert [client_role(k) for k in (1, 2, 3)] == [CLIENT, "client_2", "client_3"]


def test_clients_are_told_from_the_therapist_and_other_labels() -> None:
    assert is_client("client") and is_client("client_2")
    assert not is_client("therapist") and not is_client("clientele") and not is_client("ignore")


def test_nonsense_counts_raise() -> None:
    with pytest.raises(ValueError):
        client_role(0)
    with pytest.raises(ValueError):
        roles(0)
