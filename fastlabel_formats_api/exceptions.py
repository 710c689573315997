"""The official SDK's exceptions, same names, messages and codes; :meth:`~FastLabelException.user_message`
is what the command line shows instead (the status in words, no ``<Response [...]>`` prefix)."""

from __future__ import annotations


class FastLabelException(Exception):
    """An API error; ``str()`` is ``"<Response [<code>]> <message>"``, as the official SDK's.
    ``from_server`` is True when the server answered this status (not a client-side check)."""

    from_server = False

    def __init__(self, message: object, errcode: int | None = None) -> None:
        super().__init__(f"<Response [{errcode}]> {message}")
        self.message = message
        self.code = errcode

    def __reduce__(self):
        return (self.__class__, (self.message, self.code), {"from_server": self.from_server})

    def user_message(self) -> str:
        """The message for a person: ``the server answered <code>: <message>`` for a server's
        answer, else the message alone."""
        if self.from_server:
            return f"the server answered {self.code}: {self.message}"
        return str(self.message)


class FastLabelInvalidException(FastLabelException, ValueError):
    """A client-side check that failed, or a 4xx answer."""


def user_message(error: BaseException) -> str:
    """What a person reads about ``error`` (see :meth:`FastLabelException.user_message`)."""
    return error.user_message() if isinstance(error, FastLabelException) else str(error)
