"""One look for every figure: a colour and a marker per target, PNG embedding.

Python models share a family of hues (indigo to magenta), Node is green, Go cyan, Rust
orange; every target also has its own marker, so figures read without colour.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from PIL import Image  # noqa: E402

BASE = {"node": ["#2E7D32", "#81C784", "#1B5E20"], "go": ["#0097A7", "#4DD0E1", "#006064"],
        "rust": ["#BF360C", "#FF8A50", "#8D2A06"]}
OTHER = ["#6D4C41", "#757575", "#9E9D24", "#5D4037"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p"]
DPI = 96
FAMILIES = (("python", "Python server models"), ("other", "Other runtimes"))


@dataclass(frozen=True)
class Style:
    color: str
    marker: str


@dataclass(frozen=True)
class Figure:
    """An embedded figure: a data URI for <img src>, its alt text and caption."""

    title: str
    src: str
    alt: str
    caption: str

    @property
    def size_bytes(self) -> int:
        return len(self.src)


def family(target: str) -> str:
    return "python" if target.startswith("python/") else "other"


def styles(targets: list[str]) -> dict[str, Style]:
    """A stable colour and marker for each target name (runtime/model)."""
    out: dict[str, Style] = {}
    names = sorted(set(targets))
    python = [t for t in names if family(t) == "python"]
    ramp = colormaps["plasma"]
    for i, name in enumerate(python):
        share = 0.0 if len(python) == 1 else i / (len(python) - 1)
        out[name] = Style(to_hex(ramp(0.05 + 0.5 * share)), MARKERS[i % len(MARKERS)])
    others = [t for t in names if family(t) != "python"]
    used: dict[str, int] = {}
    for i, name in enumerate(others):
        runtime = name.split("/")[0]
        shades = BASE.get(runtime, OTHER)
        k = used.get(runtime, 0)
        used[runtime] = k + 1
        colour = shades[k % len(shades)] if runtime in BASE else OTHER[i % len(OTHER)]
        out[name] = Style(colour, MARKERS[i % len(MARKERS)])
    return out


def embed(fig: plt.Figure) -> str:
    """The figure as a palette PNG data URI (256 colours: a third of the bytes, same look)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=256,
                                                       method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def setup() -> None:
    """Readable defaults for every figure."""
    plt.rcParams.update({
        "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
        "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": DPI,
    })
