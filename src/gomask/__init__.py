"""gomask: fast, safe WebSocket masking (RFC 6455) written in Go.

The masking API lives in :mod:`gomask.mask`; the examples of the demo that
gomask grew from (hello world, add, JSON decoding) in :mod:`gomask.examples`.
Importing gomask loads nothing: the Go library is loaded on first use.
:class:`GoPanicError` is what any call raises if Go panics (a bug in
gomask: please report it).
"""

from gomask._native import GoPanicError
from gomask._version import __version__

__all__ = ["GoPanicError", "__version__"]
