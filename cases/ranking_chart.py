"""The agency ranking as a PNG chart: one bar per scored agency (best at the top), with its
score, rank and cases received; Chinese names.

Why the font is a parameter: matplotlib's own fonts have no Chinese glyphs; the shell finds
a CJK font file (``hotline.reports.charts.find_cjk_font``, which names the Debian package
when none is installed) and passes its path, so this stays free of any lookup. matplotlib
is imported when a chart is drawn, never at import time, and only its object API is used
(no pyplot state shared between two charts drawn at once).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from cases.ranking import AgencyScore

SIZE = (10.0, 6.0)  # inches, at DPI: 1000 x 600 pixels
DPI = 100


def ranking_chart(ranking: list[AgencyScore], names: Callable[[str], tuple[str, str]], title: str,
                  font: Path) -> bytes:
    """Horizontal bars of the scored agencies' scores (0-100), best first; a note when none
    has enough cases to be scored."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font_manager.fontManager.addfont(str(font))
    prop = font_manager.FontProperties(fname=str(font))
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    scored = [a for a in ranking if a.score is not None][::-1]
    ys = list(range(len(scored)))
    ax.barh(ys, [a.score or 0.0 for a in scored], color="#2b6cb0")
    ax.set_yticks(ys, [f"{a.rank}. {names(a.agency_id)[0]}" for a in scored])
    for y, a in zip(ys, scored):
        ax.text(a.score or 0.0, y, f" {a.score:.1f}分 ({a.received}件)", va="center", fontproperties=prop)
    ax.set_xlim(0, 110)
    ax.set_xlabel("综合得分")
    ax.set_title(title)
    if not scored:
        ax.text(0.5, 0.5, "本时段无足够办件参与排名", ha="center", transform=ax.transAxes, fontproperties=prop)
    for text in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label]:
        text.set_fontproperties(prop)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
