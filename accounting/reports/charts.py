"""The P&L page's charts, drawn server-side as inline SVG (no script, no CDN): geometry only.

- cumulative_chart: realized P&L to date over the entry dates, a line through one point per date,
  each point green (a gain to date) or red (a loss to date), with a zero line.
- net_bars: net P&L per instrument as horizontal bars from a zero axis, gains green to the right,
  losses red to the left, each bar as long as its share of the largest magnitude.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backoffice.core.fields import format_decimal
from backoffice.core.templatetags.dashboard import amount

# cumulative_chart
WIDTH, HEIGHT = 560, 180
LEFT, RIGHT, TOP, BOTTOM = 74, 12, 12, 24

# net_bars
BAR_HEIGHT, GAP = 18, 6
LABEL_WIDTH, BAR_SPACE, VALUE_WIDTH = 96, 300, 96


def _tone(value: Decimal) -> str:
    return "gain" if value >= 0 else "loss"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    value: Decimal
    tone: str

    @property
    def plain(self) -> str:
        return format_decimal(self.value)


@dataclass(frozen=True)
class LineChart:
    points: list[Point]
    zero_y: float
    top_label: str
    bottom_label: str
    first_day: date | None
    last_day: date | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_x: int = WIDTH - RIGHT
    label_x: int = LEFT - 6
    top_y: int = TOP
    bottom_y: int = HEIGHT - BOTTOM
    axis_label_y: int = HEIGHT - 6

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None


def cumulative_chart(days: list[dict], *, currency: str) -> LineChart:
    """Return the chart of realized_by_day's rows ({entry_date, cumulative}), x by date, y from the lowest to
    the highest cumulative figure (zero always shown)."""
    values = [row["cumulative"] for row in days]
    high, low = max([Decimal(0), *values]), min([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    first, last = (days[0]["entry_date"], days[-1]["entry_date"]) if days else (None, None)
    day_span = max(((last - first).days if days else 0), 1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: Decimal) -> float:
        return TOP + float((high - value) / span) * plot_height

    points = []
    for row in days:
        offset = (row["entry_date"] - first).days
        x = LEFT + (plot_width * offset / day_span if len(days) > 1 else plot_width / 2)
        points.append(Point(x=x, y=y_of(row["cumulative"]), day=row["entry_date"], value=row["cumulative"],
                            tone=_tone(row["cumulative"])))
    return LineChart(points=points, zero_y=y_of(Decimal(0)), top_label=f"{amount(high, currency)}",
                     bottom_label=f"{amount(low, currency)}", first_day=first, last_day=last)


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    value: Decimal
    value_text: str
    x: float
    width: float
    y: int
    tone: str
    text_x: float
    text_anchor: str

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5

    @property
    def plain(self) -> str:
        return format_decimal(self.value)


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    axis_x: float
    width: int = LABEL_WIDTH + BAR_SPACE + 2 * VALUE_WIDTH
    label_x: int = LABEL_WIDTH - 6
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (BAR_HEIGHT + GAP) + GAP


def net_bars(rows: list[tuple[str, Decimal, str, str]]) -> BarChart:
    """Return the bar chart of (label, value, currency, title) rows: the axis at the left when every value is a
    gain, at the right when every one is a loss, else where the largest gain and loss put it."""
    gains = max((value for _label, value, _ccy, _title in rows if value > 0), default=Decimal(0))
    losses = max((-value for _label, value, _ccy, _title in rows if value < 0), default=Decimal(0))
    total = (gains + losses) or Decimal(1)
    origin = LABEL_WIDTH + VALUE_WIDTH  # room for a loss's figure left of its bar
    axis_x = origin + float(losses / total) * BAR_SPACE
    bars = []
    for n, (label, value, currency, title) in enumerate(rows):
        length = float(abs(value) / total) * BAR_SPACE
        if value and length < 2:
            length = 2  # a bar that shows
        left = axis_x if value >= 0 else axis_x - length
        text_x, anchor = (left + length + 4, "start") if value >= 0 else (left - 4, "end")
        bars.append(Bar(label=label[:16], title=title, value=value, value_text=f"{amount(value, currency)}",
                        x=left, width=length, y=GAP + n * (BAR_HEIGHT + GAP), tone=_tone(value), text_x=text_x,
                        text_anchor=anchor))
    return BarChart(bars=bars, axis_x=axis_x)
