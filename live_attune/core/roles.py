"""Role names (events.py names speakers by role; STYLE.md item 17: one home for each).

One therapist and one or more clients: ``client``, then ``client_2``, ``client_3`` ...
"""

from __future__ import annotations

THERAPIST = "therapist"
CLIENT = "client"


def client_role(k: int) -> str:
    """The ``k``-th client's role (1-based): ``client``, ``client_2``, ``client_3`` ..."""
    if k < 1:
        raise ValueError("clients are counted from 1")
    return CLIENT if k == 1 else f"{CLIENT}_{k}"


def is_client(role: str) -> bool:
    """Whether ``role`` names a client (``client``, ``client_2`` ...)."""
    return role == CLIENT or role.startswith(f"{CLIENT}_")


def roles(speakers: int) -> tuple[str, ...]:
    """The roles of a session with ``speakers`` people: the therapist, then the clients."""
    if speakers < 1:
        raise ValueError("a session has at least one speaker")
    return (THERAPIST, *(client_role(k) for k in range(1, speakers)))
