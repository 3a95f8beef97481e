"""Benchmarks and the WebSocket test harness of gomask: not part of the package.

``peers``: a server and a client of each WebSocket library gomask integrates
with, each in a process of its own over 127.0.0.1 (the integration tests and
``apps`` use them); ``apps``: those libraries timed end to end, with and
without gomask; ``thresholds``: each library's own masker against gomask as
the integration calls it; ``timing``: calls back to back and after pauses;
``threads``: goroutines and threads (formerly ``python -m gomask bench
--threads``); ``plot``: plots of a ``python -m gomask bench --peers --json``
report. Run them from a checkout, e.g. ``python benchmarks/apps.py --help``.
"""
