"""Who is acting: the signed-in user in a request, or a named job/command in the background."""
from contextlib import contextmanager
from contextvars import ContextVar

_actor_label: ContextVar[str | None] = ContextVar("obcms_actor_label", default=None)


@contextmanager
def acting_as(label):
    token = _actor_label.set(label)
    try:
        yield
    finally:
        _actor_label.reset(token)


def current_actor_label():
    return _actor_label.get()
