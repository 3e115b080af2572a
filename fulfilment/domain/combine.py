"""Combining: one buyer's orders to one identical address, from one warehouse, go out as one parcel (pure)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def address_key(buyer: str, name: str, street1: str, street2: str, zip_code: str) -> tuple[str, ...]:
    """Who and where, compared as written (case and runs of spaces ignored, ZIP by its first five digits)."""
    return tuple(" ".join(part.split()).casefold() for part in (buyer, name, street1, street2, zip_code[:5]))


def groups(keys: Sequence[Hashable], limit: int) -> list[list[int]]:
    """Indexes of `keys` grouped by equal key, at most `limit` to a group, in order of first appearance."""
    by_key: dict[Hashable, list[list[int]]] = {}
    ordered: list[list[int]] = []
    for i, key in enumerate(keys):
        open_groups = by_key.setdefault(key, [])
        if not open_groups or len(open_groups[-1]) >= limit:
            open_groups.append([])
            ordered.append(open_groups[-1])
        open_groups[-1].append(i)
    return ordered


def chunks_keeping_groups(keys: Sequence[Hashable], size: int) -> list[list[int]]:
    """Split indexes into chunks of at most `size`, keeping equal keys together: each group moves up to its
    first member and starts a new chunk rather than being cut (a group larger than `size` fills whole chunks)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for members in groups(keys, size):
        if current and len(current) + len(members) > size:
            chunks.append(current)
            current = []
        current.extend(members)
    if current:
        chunks.append(current)
    return chunks
