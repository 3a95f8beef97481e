"""The gomask version: the one place it is written.

pyproject.toml reads it for the package metadata and setup.py embeds it in
the Go library, so the wheel, ``gomask.__version__`` and the library agree.
"""

__version__ = "0.1.0"
