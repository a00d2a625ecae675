"""PNG charts of a report, with Chinese labels: calls and service level per interval, and
the top categories.

Why a CJK font from a path: matplotlib's own fonts have no Chinese glyphs (every label would
be a row of boxes), and looking a font up by family name depends on the font cache of the
user running the command. So the font file is found by path at run time (one of
``FONT_CANDIDATES``: Debian's ``fonts-wqy-zenhei``, installed by scripts/install-system.sh,
or another CJK font Debian ships), registered with ``fontManager.addfont`` and set on every
text of the chart; when none is there, ``ChartFontMissing`` says which package to install.

matplotlib is imported when a chart is drawn, never at import time (it takes half a
second), and only its object API is used (``Figure`` with an Agg canvas: no pyplot state
shared between two charts drawn at once).
"""
from __future__ import annotations

import contextlib
import io
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from kpi.report import Report

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),              # fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),            # fonts-wqy-microhei
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),    # fonts-noto-cjk
)
FONT_PACKAGE = "fonts-wqy-zenhei"
SIZE = (10.0, 5.0)  # inches, at DPI: 1000 x 500 pixels
DPI = 100


class ChartFontMissing(RuntimeError):
    """No CJK font file was found: the chart would show boxes instead of Chinese."""


def find_cjk_font(candidates: Iterable[Path] = FONT_CANDIDATES) -> Path:
    """The first CJK font file that exists; ``ChartFontMissing`` naming the package otherwise."""
    tried = list(candidates)
    for path in tried:
        if path.is_file():
            return path
    raise ChartFontMissing(f"no CJK font for the charts' Chinese labels (looked for "
                           f"{', '.join(str(p) for p in tried)}): install the Debian package {FONT_PACKAGE} "
                           f"(scripts/install-system.sh does)")


@contextlib.contextmanager
def _drawing(font: Path) -> Iterator[tuple[Any, Any]]:
    """A new figure and the font's properties; the CJK fonts have no U+2212 minus sign, so
    negative ticks use the ASCII hyphen while the figure is drawn."""
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font_manager.fontManager.addfont(str(font))
    with matplotlib.rc_context({"axes.unicode_minus": False}):
        figure = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(figure)
        yield figure, font_manager.FontProperties(fname=str(font))


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _fonted(ax: Any, prop: Any) -> None:
    for text in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label, ax.yaxis.label]:
        text.set_fontproperties(prop)


def calls_chart(report: Report, tz: tzinfo, font: Path | None = None) -> bytes:
    """Bars of calls offered and answered per interval, and the service level (answered
    within 15 s / answered) as a line against the 80 % target."""
    with _drawing(font or find_cjk_font()) as (figure, prop):
        ax = figure.add_subplot(1, 1, 1)
        fmt = "%H:%M" if report.interval in ("15m", "1h") else "%m-%d"
        labels = [datetime.fromtimestamp(p.start, tz).strftime(fmt) for p in report.intervals]
        xs = list(range(len(labels)))
        offered = [_n(p.values, "offered") for p in report.intervals]
        answered = [_n(p.values, "answered") for p in report.intervals]
        ax.bar([x - 0.2 for x in xs], offered, width=0.4, label="转人工来电", color="#8fb3d9")
        ax.bar([x + 0.2 for x in xs], answered, width=0.4, label="人工接听", color="#2b6cb0")
        ax.set_ylabel("来电量(件)")
        ax.set_xticks(xs, labels, rotation=90 if len(xs) > 12 else 0)
        level = ax.twinx()
        sl = [p.values.get("service_level") for p in report.intervals]
        level.plot(xs, [None if v is None else v * 100 for v in sl], marker="o", color="#c05621",
                   label="15秒及时接听率")
        level.axhline(report.rules.service_level_target * 100, linestyle="--", color="#9c4221", label="目标 80%")
        level.set_ylim(0, 105)
        level.set_ylabel("及时接听率(%)")
        ax.set_title(f"{report.title} 来电量与15秒及时接听率")
        _fonted(ax, prop)
        _fonted(level, prop)
        handles = [*ax.get_legend_handles_labels()[0], *level.get_legend_handles_labels()[0]]
        names = [*ax.get_legend_handles_labels()[1], *level.get_legend_handles_labels()[1]]
        ax.legend(handles, names, prop=prop, loc="upper left", fontsize=8)
        figure.tight_layout()
        return _png(figure)


def categories_chart(report: Report, tz: tzinfo, font: Path | None = None) -> bytes:
    """Horizontal bars of the top categories' work orders, each with its share."""
    with _drawing(font or find_cjk_font()) as (figure, prop):
        ax = figure.add_subplot(1, 1, 1)
        cats = list(reversed(report.categories))
        ys = list(range(len(cats)))
        ax.barh(ys, [c.count for c in cats], color="#2b6cb0")
        ax.set_yticks(ys, [c.zh for c in cats])
        for y, c in zip(ys, cats):
            share = "" if c.share is None else f" {c.share * 100:.2f}%"
            ax.text(c.count, y, f" {c.count}件{share}", va="center", fontproperties=prop)
        ax.set_xlabel("受理工单(件)")
        ax.set_title(f"{report.title} 主要诉求分类")
        if not cats:
            ax.text(0.5, 0.5, "本时段无受理工单", ha="center", transform=ax.transAxes, fontproperties=prop)
        _fonted(ax, prop)
        figure.tight_layout()
        return _png(figure)


def _n(values: Mapping[str, Any], key: str) -> float:
    value = values.get(key)
    return float(value) if value is not None else 0.0


CHARTS: Mapping[str, Callable[..., bytes]] = {"calls": calls_chart, "categories": categories_chart}


def render(name: str, report: Report, tz: tzinfo, font: Path | None = None) -> bytes:
    """The chart ``name`` (one of ``CHARTS``) of ``report`` as PNG bytes."""
    if name not in CHARTS:
        raise ValueError(f"no chart {name!r} (one of {', '.join(CHARTS)})")
    return CHARTS[name](report, tz, font)
