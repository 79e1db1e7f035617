"""Fingerprints of the inputs a decision was computed from.

A plan or a proposal is computed from a snapshot (stock, transfers under way,
targets, lanes, open cases). Applying it once that snapshot has changed would act
on figures that are no longer true, e.g. draft the same move twice. The decision
keeps the fingerprint of its inputs; applying it recomputes the fingerprint and
refuses when the two differ.
"""

from __future__ import annotations

import hashlib


class Fingerprint:
    """A SHA-256 over a sequence of values, each framed by its length, so that
    ``("ab", "c")`` and ``("a", "bc")`` never collide. Bytes are taken as they are
    (e.g. ``ndarray.tobytes()``), anything else by its ``repr``."""

    def __init__(self, label: str) -> None:
        self._hash = hashlib.sha256()
        self.add(label)

    def add(self, *values: object) -> Fingerprint:
        for value in values:
            data = value if isinstance(value, bytes) else repr(value).encode()
            self._hash.update(len(data).to_bytes(8, "big"))
            self._hash.update(data)
        return self

    def hexdigest(self) -> str:
        """64 hexadecimal digits."""
        return self._hash.hexdigest()
