"""What a batch prints and how: label format, page order for stack printers, separators, packing slips."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

LABEL_FORMATS = ("pdf", "zpl")
PACKING_SLIPS = ("separate", "interleaved", "off")


@dataclass(frozen=True, slots=True)
class DocumentOptions:
    """`label_format`: ``pdf`` (4x6 pages) or ``zpl`` (ZPL II for thermal printers, bought as ``ZPLII`` from
    Shippo); `reverse`: the merged labels last-to-first, for printers that stack face up; `separators`: a page
    before each warehouse's labels; `packing_slips`: ``separate`` (their own PDF), ``interleaved`` (after each
    label in the merged PDF) or ``off``."""

    label_format: str = "pdf"
    reverse: bool = False
    separators: bool = True
    packing_slips: str = "separate"

    def __post_init__(self) -> None:
        if self.label_format not in LABEL_FORMATS:
            raise ValueError(f"label format {self.label_format!r}: use one of {', '.join(LABEL_FORMATS)}")
        if self.packing_slips not in PACKING_SLIPS:
            raise ValueError(f"packing slips {self.packing_slips!r}: use one of {', '.join(PACKING_SLIPS)}")
        if self.label_format == "zpl" and self.packing_slips == "interleaved":
            raise ValueError(
                "packing slips cannot be interleaved with ZPL labels (a thermal printer prints labels only): "
                "use separate or off"
            )

    def as_dict(self) -> dict[str, Any]:
        """The options as stored with a batch."""
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: dict[str, Any] | None, default: DocumentOptions | None = None) -> DocumentOptions:
        """Options stored with a batch; keys missing (a batch from before an option existed) come from `default`."""
        base = (default or cls()).as_dict()
        known = {f.name for f in fields(cls)}
        return cls(**{**base, **{k: v for k, v in (stored or {}).items() if k in known}})

    def with_overrides(self, **overrides: Any) -> DocumentOptions:
        """These options with the given ones replaced; None leaves an option as it is."""
        return DocumentOptions(**{**self.as_dict(), **{k: v for k, v in overrides.items() if v is not None}})
