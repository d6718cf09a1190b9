"""Bar charts of the fails page, drawn server-side as inline SVG (no script, no CDN): geometry only.

A chart is a list of horizontal bars, one per row (an age bucket, a counterparty), each as long as its
share of the largest count, with its label on the left and its count at its end.
"""

from dataclasses import dataclass

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 96
BAR_SPACE = 250
COUNT_WIDTH = 44


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    width: int
    y: int
    tone: str
    title: str

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5

    @property
    def end(self) -> int:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int = LABEL_WIDTH + BAR_SPACE + COUNT_WIDTH
    label_width: int = LABEL_WIDTH
    label_x: int = LABEL_WIDTH - 6
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (BAR_HEIGHT + GAP) + GAP


def bar_chart(rows: list[tuple[str, int, str, str]]) -> Chart:
    """Return the chart of (label, count, tone, title) rows: bars scaled to the largest count (a count of
    zero draws no bar; any other at least 2 px, so that it shows)."""
    largest = max((count for _label, count, _tone, _title in rows), default=0)
    bars = []
    for n, (label, count, tone, title) in enumerate(rows):
        width = 0 if not count else max(2, round(BAR_SPACE * count / largest))
        bars.append(Bar(label=label[:16], count=count, width=width, y=GAP + n * (BAR_HEIGHT + GAP), tone=tone,
                        title=title))
    return Chart(bars=bars)
