"""Two texts side by side, with the passages that differ marked: what a duplicate changed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool


def _segments(words: list[str], spans: list[tuple[int, int, bool]]) -> list[Segment]:
    merged: list[Segment] = []
    for start, end, changed in spans:
        if start == end:
            continue
        text = " ".join(words[start:end])
        if merged and merged[-1].changed == changed:
            merged[-1] = Segment(merged[-1].text + " " + text, changed)
        else:
            merged.append(Segment(text, changed))
    return merged


def side_by_side(left: str, right: str) -> tuple[list[Segment], list[Segment]]:
    """Word-level difference; whitespace and line breaks are not differences."""
    a, b = left.split(), right.split()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left_spans: list[tuple[int, int, bool]] = []
    right_spans: list[tuple[int, int, bool]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        left_spans.append((i1, i2, not same))
        right_spans.append((j1, j2, not same))
    return _segments(a, left_spans), _segments(b, right_spans)
