"""fastlabel_formats_api: the thin REST layer over :mod:`fastlabel_formats`.

The drop-in :class:`~fastlabel_formats_api.client.Client` (all 126 methods of the official README),
:class:`~fastlabel_formats_api.transport.Transport` (session, auth, timeouts, retries with
backoff honouring ``Retry-After``, a 10,000 calls / 600 s limiter, the official error mapping; a
deadline per call, byte caps on answers and files, redirects and file hosts checked: see
:mod:`fastlabel_formats_api.guards`),
the official exceptions, and :mod:`fastlabel_formats_api.testing`, a fake of the REST API served
over real HTTP on 127.0.0.1 with fault injection. The core
never imports this package.
"""

from .client import Client
from .exceptions import FastLabelException, FastLabelInvalidException
from .transport import RateLimiter, Transport

__all__ = ["Client", "FastLabelException", "FastLabelInvalidException", "RateLimiter", "Transport"]
