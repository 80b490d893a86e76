"""Helpers every experiment's figures share: log axes that stay legible, compact numbers."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullLocator

from analysis.stats import fmt


def log_count_axis(ax: plt.Axes, levels: list[int], name: str = "connections") -> None:
    """A log x axis ticked at exactly the measured levels."""
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(levels)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel(f"{name} (log scale)")


def minor_ms(y: float, _: object = None) -> str:
    """Label only the 2s and 5s between decades, so a log axis stays legible."""
    if y <= 0:
        return ""
    lead = round(y / 10 ** math.floor(math.log10(y)))
    return fmt(y, "ms") if lead in (2, 5) else ""


def compact(x: float, _: object = None) -> str:
    return f"{x / 1000:,.0f}k" if abs(x) >= 10_000 else f"{x:,.0f}"
