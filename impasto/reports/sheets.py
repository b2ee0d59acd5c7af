"""Contact sheets: images side by side with labels (content | style(s) | result, benchmark panels)."""
from __future__ import annotations

from typing import Sequence

from PIL import Image, ImageDraw


def labelled_row(panels: Sequence[tuple[str, Image.Image]], height: int, gap: int = 8,
                 label_height: int = 18) -> Image.Image:
    """Images side by side, each scaled to ``height`` (aspect kept), with its label underneath."""
    scaled = [(label, image.convert("RGB").resize((max(1, round(image.width * height / image.height)), height),
                                                  Image.Resampling.LANCZOS)) for label, image in panels]
    width = sum(image.width for _, image in scaled) + gap * (len(scaled) + 1)
    sheet = Image.new("RGB", (width, height + 2 * gap + label_height), "white")
    draw = ImageDraw.Draw(sheet)
    x = gap
    for label, image in scaled:
        sheet.paste(image, (x, gap))
        draw.text((x, height + gap + 3), label, fill=(40, 40, 40))
        x += image.width + gap
    return sheet


def side_by_side(content: Image.Image, styles: Sequence[Image.Image], result: Image.Image,
                 gap: int = 8, label_height: int = 18) -> Image.Image:
    """content | style(s) | result, all scaled to the result's height, labelled underneath."""
    panels = [("content", content)] + [(f"style {i + 1}" if len(styles) > 1 else "style", s)
                                       for i, s in enumerate(styles)] + [("result", result)]
    return labelled_row(panels, result.height, gap, label_height)
