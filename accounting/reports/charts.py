"""The P&L page's charts, drawn server-side as inline SVG (no script, no CDN): geometry only.

- pnl_chart: P&L over time, two lines with a legend: realized P&L to date (one point per date with
  realized P&L) and total P&L (realized to date + unrealized, one point per mark-to-market date);
  each point green (a gain) or red (a loss), with a zero line.
- net_bars: net P&L per instrument as horizontal bars from a zero axis, gains green to the right,
  losses red to the left, each bar as long as its share of the largest magnitude.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backoffice.core.fields import format_decimal
from backoffice.core.templatetags.dashboard import amount

# pnl_chart: the legend in a band above the plot
WIDTH, HEIGHT = 560, 196
LEFT, RIGHT, TOP, BOTTOM = 74, 12, 28, 24
LEGEND_Y, LEGEND_SWATCH, LEGEND_STEP = 12, 18, 170

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
    title: str = ""

    @property
    def plain(self) -> str:
        return format_decimal(self.value)


@dataclass(frozen=True)
class Series:
    """One line of a chart: key (realized, total) names its CSS class and data-series; label is its legend."""

    key: str
    label: str
    points: list[Point]
    legend_x: int = 0

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def legend_text_x(self) -> int:
        return self.legend_x + LEGEND_SWATCH + 4


@dataclass(frozen=True)
class LineChart:
    series: list[Series]
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
    legend_y: int = LEGEND_Y
    legend_swatch: int = LEGEND_SWATCH

    @property
    def points(self) -> list[Point]:
        return [point for series in self.series for point in series.points]


def _series_rows(days: list[dict], currency: str) -> dict[str, list[tuple[date, Decimal, str]]]:
    """pnl_by_day's rows as (day, value, title) per series: realized to date on the dates with realized P&L,
    total (realized to date + unrealized) on the dates marked to market."""
    realized, total = [], []
    for row in days:
        day = row["entry_date"]
        if row.get("realized") is not None:
            realized.append((day, row["cumulative"], "realized to date"))
        if row.get("total") is not None:
            total.append((day, row["total"], f"total: realized to date {amount(row['cumulative'], currency)} "
                                             f"+ unrealized {amount(row['unrealized'], currency)}"))
    return {"realized": realized, "total": total}


def pnl_chart(days: list[dict], *, currency: str) -> LineChart | None:
    """Return the P&L-over-time chart of pnl_by_day's rows: the cumulative realized P&L and the total P&L
    (realized to date + unrealized at each mark to market), x by date, y from the lowest to the highest
    figure (zero always shown); None when there is neither."""
    per_series = _series_rows(days, currency)
    values = [value for rows in per_series.values() for _day, value, _title in rows]
    if not values:
        return None
    high, low = max([Decimal(0), *values]), min([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    dates = [day for rows in per_series.values() for day, _value, _title in rows]
    first, last = min(dates), max(dates)
    day_span = max((last - first).days, 1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: Decimal) -> float:
        return TOP + float((high - value) / span) * plot_height

    def x_of(day: date) -> float:
        return LEFT + (plot_width * (day - first).days / day_span if first != last else plot_width / 2)

    series = []
    for n, (key, label) in enumerate((("realized", "Realized, cumulative"),
                                      ("total", "Total: realized + unrealized"))):
        points = [Point(x=x_of(day), y=y_of(value), day=day, value=value, tone=_tone(value),
                        title=f"{day.isoformat()}: {amount(value, currency)} {currency} {title}")
                  for day, value, title in per_series[key]]
        series.append(Series(key=key, label=label, points=points, legend_x=LEFT + 8 + n * LEGEND_STEP))
    return LineChart(series=series, zero_y=y_of(Decimal(0)), top_label=f"{amount(high, currency)}",
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
