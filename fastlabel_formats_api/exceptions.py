"""The official SDK's exceptions, same names, messages and codes."""

from __future__ import annotations


class FastLabelException(Exception):
    """An API error; ``str()`` is ``"<Response [<code>]> <message>"``."""

    def __init__(self, message: object, errcode: int | None = None) -> None:
        super().__init__(f"<Response [{errcode}]> {message}")
        self.message = message
        self.code = errcode

    def __reduce__(self):
        return (self.__class__, (self.message, self.code))


class FastLabelInvalidException(FastLabelException, ValueError):
    """A client-side check that failed, or a 4xx answer."""
