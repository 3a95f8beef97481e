"""gomask: WebSocket frame masking (RFC 6455) in Go, for every Python 3.

::

    from gomask import mask, unmask, mask_inplace, Masker, mask_batch

    masked = mask(b"Hello", bytes.fromhex("37fa213d"))

The masking API lives in :mod:`gomask.mask` (``mask`` imported from here is
that module, which is callable as its ``mask`` function); the integrations
with WebSocket libraries in :mod:`gomask.integrations`; the examples of the
demo gomask grew from in :mod:`gomask.examples`. Importing gomask loads
nothing and starts no thread: the Go library is loaded on first use.
:class:`GoPanicError` is what any call raises if Go panics (a bug in gomask:
please report it).
"""

from typing import TYPE_CHECKING

from gomask._native import GoPanicError
from gomask._version import __version__
from gomask.mask import (
    Masker,
    get_parallelism,
    mask_batch,
    mask_inplace,
    reset_parallelism,
    set_parallelism,
    unmask,
)

if TYPE_CHECKING:
    # At run time `mask` here is the submodule gomask.mask, callable as its
    # mask(); to type checkers it is that function.
    from gomask.mask import mask as mask
else:
    from gomask import mask

__all__ = [
    "GoPanicError",
    "Masker",
    "__version__",
    "get_parallelism",
    "mask",
    "mask_batch",
    "mask_inplace",
    "reset_parallelism",
    "set_parallelism",
    "unmask",
]
