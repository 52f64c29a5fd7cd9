"""``newsdedup status``: where the pipeline stands, read from Redis, as lines for a person."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from shared.progress import JudgeStatus, PipelineStatus


def _ago(ms: int, now_ms: int) -> str:
    at = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{at:%Y-%m-%d %H:%M:%S} UTC ({max(0, now_ms - ms) / 1000:.0f} s ago)"


def render(status: PipelineStatus, dead_stream: str, now_ms: int | None = None) -> list[str]:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    lines = ["streams"]
    width = max(len(s.name) for s in status.streams)
    for stream in status.streams:
        groups = "   ".join(f"{g.name}: {g.pending:,} pending, {g.waiting:,} waiting"
                           for g in stream.groups)  # fmt: skip
        lines.append(f"  {stream.name:<{width}}  length {stream.length:>8,}   {groups}".rstrip())
    judge = status.judge
    holder = f"held by {judge.holder}" if judge.holder else "free: no dedupe process judges"
    lines.append(f"judge    lease {holder} ({judge.lease_changes:,} leases given so far)")
    lines.append(f"         lag {judge.lag_s:.1f} s, {judge.waiting:,} entries waiting")
    last = _ago(judge.last_verdict_ms, now_ms) if judge.last_verdict_ms else "none on the streams"
    lines.append(f"         last verdict {last}")
    dead = next((s.length for s in status.streams if s.name == dead_stream), 0)
    lines.append(f"dead     {dead:,} dead letter(s) (newsdedup dead list)")
    return lines


class LagWarning:
    """What ``newsdedup up`` says of the judge's lag: a warning line when it passes the
    threshold, a line when it is back under, and nothing in between."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.behind = False

    def line(self, judge: JudgeStatus) -> str | None:
        if not self.behind and judge.lag_s > self.threshold_s:
            self.behind = True
            holder = judge.holder or "no dedupe process (the lease is free)"
            return (
                f"warning: the judge is {judge.lag_s:.0f} s behind, {judge.waiting:,} articles "
                f"waiting; judging: {holder}. `newsdedup status` says more"
            )
        if self.behind and judge.lag_s <= self.threshold_s:
            self.behind = False
            return f"the judge has caught up: {judge.waiting:,} articles waiting"
        return None
