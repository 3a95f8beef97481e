"""gomask: WebSocket frame masking (RFC 6455) in Go, for every Python 3.

::

    from gomask import mask, unmask, mask_inplace, Masker, mask_batch

    masked = mask(b"Hello", bytes.fromhex("37fa213d"))

The functions, from :mod:`gomask.mask`:

- ``mask(data, key, offset=0) -> bytes``: *data* masked with the 4-byte
  *key*, as new bytes; ``unmask`` is the same function. ``mask`` here is the
  module :mod:`gomask.mask` itself, callable as its ``mask`` function (it
  pickles, and introspects, as that function does).
- ``mask_inplace(buffer, key, offset=0) -> None``: a writable buffer masked
  in place.
- ``mask_batch(payloads, keys) -> list[bytes]``: many payloads in one call.
- ``Masker(key, offset=0)``: a payload masked piece by piece, the offset
  kept.
- ``set_parallelism(threshold=None, workers=None)``, ``get_parallelism()``,
  ``reset_parallelism()``: when large calls are split over goroutines.

The integrations with WebSocket libraries are in :mod:`gomask.integrations`;
the examples of the demo gomask grew from in :mod:`gomask.examples`.
Importing gomask loads nothing and starts no thread: the Go library is
loaded on first use. :class:`GoPanicError` is what any call raises if Go
panics (a bug in gomask: please report it).
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

del TYPE_CHECKING  # not part of the package's namespace (dir(gomask), help)

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
