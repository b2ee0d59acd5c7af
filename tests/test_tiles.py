import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from impasto import Stylizer, stylize
from impasto.errors import OptionError, ResourceError
from impasto.imaging.images import image_to_tensor
from impasto.config.options import resolve_options
from impasto.engine.device import BYTES_PER_PIXEL, FIXED_BYTES
from impasto.engine.tiles import (CANVAS_BYTES_PER_PIXEL, DEFAULT_TILE, TILED_OVERHEAD_BYTES, Box, axis_spans,
                                  blend_into, blend_weights, plan_tiling, tile_boxes, tiled_bytes)
from tests.conftest import gradient_image, stripes_image

CPU = torch.device("cpu")
GB = 1024**3


@pytest.mark.parametrize("length,tile,overlap", [(1000, 256, 32), (4096, 1024, 128), (257, 256, 32),
                                                 (5461, 1024, 128), (300, 128, 0)])
def test_axis_spans_cover_the_axis_with_equal_overlapping_tiles(length, tile, overlap):
    spans = axis_spans(length, tile, overlap)
    sizes = {size for _, size in spans}
    assert len(sizes) == 1 and max(sizes) <= tile
    assert spans[0][0] == 0 and spans[-1][0] + spans[-1][1] == length  # flush at both ends
    for (start, size), (next_start, _) in zip(spans, spans[1:]):
        assert start + size - next_start >= overlap  # every neighbour shares at least the overlap
    # As few tiles as can do it: one fewer could not cover the axis with that overlap.
    count = len(spans)
    assert count == 1 or (count - 1) * tile - (count - 2) * overlap < length


def test_a_short_axis_is_one_tile():
    assert axis_spans(600, 1024, 128) == [(0, 600)]


def test_boxes_go_row_by_row_and_ramp_over_what_the_previous_tiles_share():
    boxes = tile_boxes((300, 500), 256, 32)
    # 500 px need three 188 px columns (two 256 px tiles overlapping by 32 reach only 480), 300 px two rows.
    assert [(box.top, box.left, box.height, box.width) for box in boxes] == \
        [(top, left, 166, 188) for top in (0, 134) for left in (0, 156, 312)]
    rows = sorted({box.top for box in boxes})
    columns = sorted({box.left for box in boxes})
    assert [(box.top, box.left) for box in boxes] == [(top, left) for top in rows for left in columns]
    first, second, below = boxes[0], boxes[1], boxes[len(columns)]
    assert (first.ramp_top, first.ramp_left) == (0, 0)
    assert second.ramp_left == first.left + first.width - second.left and second.ramp_top == 0
    assert below.ramp_top == first.top + first.height - below.top and below.ramp_left == 0


def test_blend_weights_rise_from_the_shared_edges_to_one():
    weights = blend_weights(Box(10, 20, 6, 8, ramp_top=2, ramp_left=4))[0, 0]
    assert weights.shape == (6, 8)
    assert torch.allclose(weights[3:, 4:], torch.ones(3, 4))  # past the ramps: the new tile only
    assert torch.allclose(weights[5, :4], torch.tensor([0.125, 0.375, 0.625, 0.875]))
    assert torch.allclose(weights[:2, 7], torch.tensor([0.25, 0.75]))
    assert weights[0, 0] == pytest.approx(0.125 * 0.25)


def test_laying_every_tile_of_an_image_over_any_canvas_gives_that_image_back():
    # The weights are a partition of unity: wherever a tile fades in, earlier tiles have painted.
    generator = torch.Generator().manual_seed(0)
    image = torch.rand((1, 3, 300, 500), generator=generator)
    canvas = torch.rand((1, 3, 300, 500), generator=generator)
    for box in tile_boxes((300, 500), 128, 24):
        blend_into(canvas, box.crop(image), box)
    assert torch.allclose(canvas, image, atol=1e-6)


def test_a_tile_blends_linearly_across_its_overlap():
    canvas = torch.zeros((1, 1, 4, 10))
    blend_into(canvas, torch.ones((1, 1, 4, 6)), Box(0, 4, 4, 6, ramp_left=4))
    assert torch.allclose(canvas[0, 0, 0], torch.tensor([0, 0, 0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1]))


def _available(monkeypatch, size):
    monkeypatch.setattr("impasto.engine.tiles.available_bytes", lambda device: size)


def test_a_run_that_fits_is_painted_whole(monkeypatch):
    _available(monkeypatch, 20 * GB)
    assert plan_tiling([(128, 192), (1365, 2048)], CPU).tile == 0


def test_a_run_that_does_not_fit_is_tiled_and_says_why(monkeypatch):
    _available(monkeypatch, 20 * GB)
    shapes = [(85, 128), (271, 406), (860, 1290), (2731, 4096)]
    tiling = plan_tiling(shapes, CPU)
    assert (tiling.tile, tiling.overlap) == (DEFAULT_TILE, DEFAULT_TILE // 8)
    assert [tiling.covers(shape) for shape in shapes] == [False, False, True, True]
    assert "4096x2731 would need about 31.9 GB painted whole, 20.0 GB are available" in tiling.reason
    assert "tiles of up to 1024x1024 px overlapping by 128 px" in tiling.reason


def test_with_less_memory_the_tile_shrinks(monkeypatch):
    # 1024 px tiles need 0.7 + 2.9 + 0.5 GB and an 8192 px canvas 1.0 GB: at 4.5 GB only 768 px tiles fit.
    _available(monkeypatch, int(4.5 * GB))
    tiling = plan_tiling([(85, 128), (5461, 8192)], CPU)
    assert tiling.tile == 768
    needed = FIXED_BYTES + BYTES_PER_PIXEL * 768**2 + TILED_OVERHEAD_BYTES + CANVAS_BYTES_PER_PIXEL * 5461 * 8192
    assert needed == tiled_bytes(768**2, 85 * 128, 5461 * 8192)
    assert needed <= 4.5 * GB < needed + BYTES_PER_PIXEL * (1024**2 - 768**2)


def test_an_output_whose_canvas_cannot_fit_is_refused_with_a_size_that_would(monkeypatch):
    _available(monkeypatch, 20 * GB)
    with pytest.raises(ResourceError) as refused:
        plan_tiling([(128, 192), (50000, 75000)], CPU)
    side = int(re.search(r"about (\d+) px", str(refused.value)).group(1))
    # 20 GB less the smallest tile's 1.3 GB, at 24 bytes per canvas pixel: about 35,000 px at 3:2.
    assert 34000 < side < 36000
    fitting = (round(side * 2 / 3), side)
    assert plan_tiling([(128, 192), fitting], CPU).tile >= 128  # fits, in some tile
    too_large = (round(side * 1.05 * 2 / 3), round(side * 1.05))
    with pytest.raises(ResourceError):
        plan_tiling([(128, 192), too_large], CPU)


def test_an_asked_for_tile_is_used_and_checked(monkeypatch):
    _available(monkeypatch, 20 * GB)
    tiling = plan_tiling([(85, 128), (341, 512)], CPU, tile=200, overlap=10)
    assert (tiling.tile, tiling.overlap) == (200, 10) and "tiles of 200 px were asked for" in tiling.reason
    assert plan_tiling([(85, 128), (341, 512)], CPU, tile=600).tile == 0  # nothing larger than a tile
    with pytest.raises(OptionError, match="less than half the tile"):
        plan_tiling([(85, 128), (341, 512)], CPU, tile=200, overlap=100)


def test_options_check_the_tile_and_its_overlap():
    with pytest.raises(OptionError, match="tile must be an integer from 128"):
        resolve_options(tile=64)
    with pytest.raises(OptionError, match="less than half the tile"):
        resolve_options(tile=256, tile_overlap=128)


def test_a_crop_of_the_resized_image_is_the_resized_images_crop():
    image = gradient_image(451, 300)
    whole = image_to_tensor(image, (600, 900))
    crop = image_to_tensor(image, (600, 900), (200, 300, 300, 400))
    assert crop.shape == (1, 3, 300, 400)
    assert (crop - whole[..., 200:500, 300:700]).abs().max() <= 1.5 / 255


TILED = dict(size=256, scales=2, min_size=96, iterations=[6, 4], style_weight=1.0, seed=3)


def test_a_tiled_run_paints_every_tile_and_reports_them(vgg19_weights):
    seen = []
    stylizer = Stylizer(gradient_image(192, 128), stripes_image(80, 80), resolve_options(**TILED, tile=144),
                        weights=vgg19_weights, callback=seen.append)
    result = stylizer.run()
    assert result.size == (256, 171)
    boxes = stylizer.tiling.boxes((171, 256))
    assert len(boxes) == 4 and stylizer.tiling.boxes((64, 96)) == [Box(0, 0, 64, 96)]
    assert stylizer.total_steps == 6 + 4 * 4 == len(seen)
    assert [(p.tile, p.tiles) for p in seen[6:]] == [(tile, 4) for tile in (1, 2, 3, 4) for _ in range(4)]
    assert seen[-1].work_fraction == 1.0
    assert [row.get("tile") for row in stylizer.history][5:] == [None] + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    start = image_to_tensor(gradient_image(192, 128), (171, 256))
    assert (image_to_tensor(result) - start).abs().mean() > 0.05  # painted everywhere, not just somewhere
    for box in boxes:
        assert (box.crop(image_to_tensor(result)) - box.crop(start)).abs().mean() > 0.05


def test_a_tile_as_large_as_the_output_is_the_untiled_run_bit_for_bit(vgg19_weights):
    images = gradient_image(192, 128), stripes_image(80, 80)
    whole = Stylizer(*images, resolve_options(**TILED), weights=vgg19_weights).run()
    one_tile = Stylizer(*images, resolve_options(**TILED, tile=256), weights=vgg19_weights)
    assert one_tile.tiling.tile == 0
    assert np.array_equal(np.asarray(one_tile.run()), np.asarray(whole))


def test_tiles_leave_no_seam(vgg19_weights):
    # The mean step between neighbouring pixels, on the columns where tiles meet, against the same on every
    # column: a seam would stand out. The same statistic is taken on the untiled run as the baseline.
    images = gradient_image(192, 128), stripes_image(80, 80)
    tiled_run = Stylizer(*images, resolve_options(**TILED, tile=144), weights=vgg19_weights)
    tiled = np.asarray(tiled_run.run(), dtype=np.float32)
    whole = np.asarray(Stylizer(*images, resolve_options(**TILED), weights=vgg19_weights).run(), dtype=np.float32)
    boxes = tiled_run.tiling.boxes((171, 256))
    # Where a tile's ramp starts and where it ends (the previous tile's edge), across and down.
    columns = sorted({edge for box in boxes if box.left for edge in (box.left, box.left + box.ramp_left)})
    rows = sorted({edge for box in boxes if box.top for edge in (box.top, box.top + box.ramp_top)})

    def border_ratio(image, axis, edges):
        steps = np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2))  # per boundary between pixels
        return steps[[edge - 1 for edge in edges]].mean() / steps.mean()

    assert len(columns) == len(rows) == 2
    for axis, edges in ((1, columns), (0, rows)):
        assert border_ratio(tiled, axis, edges) < 1.25 * max(1.0, border_ratio(whole, axis, edges))


def test_an_interrupt_in_a_tiled_scale_saves_the_tiles_done_over_the_warm_start(tmp_path, vgg19_weights):
    output = tmp_path / "poster.png"

    def interrupt(progress):
        if progress.tiles > 1 and progress.tile == 3 and progress.iteration == 2:
            raise KeyboardInterrupt

    from impasto import Interrupted

    with pytest.raises(Interrupted):
        stylize(gradient_image(192, 128), stripes_image(80, 80), output=output, callback=interrupt, tile=144,
                **TILED)
    saved = Image.open(output)
    assert saved.size == (256, 171)
    metadata = json.loads(saved.info["impasto"])
    assert metadata["interrupted"] and metadata["tiling"] == {"tile": 144, "overlap": 18, "tiles": [1, 4]}


def test_the_cli_says_it_tiles_and_shows_tiles_in_the_progress(tmp_path, content_path, style_path, capsys):
    from impasto.cli.main import main

    code = main([str(content_path), str(style_path), "-o", str(tmp_path / "out.png"), "--size", "200",
                 "--scales", "1", "--iterations", "2", "--tile", "128", "--tile-overlap", "8"])
    assert code == 0
    err = capsys.readouterr().err
    assert "impasto: tiles of 128 px were asked for: scales larger than 128 px are painted in tiles of up to " \
           "128x128 px overlapping by 8 px" in err
    assert Image.open(tmp_path / "out.png").size == (200, 133)



def test_the_tiled_estimate_covers_the_measured_peaks():
    # benchmarks/tiles.py, 1024 px tiles (the largest whole scale, 813 px at 2048, fits in a tile):
    # peak GB measured at 2048, 4096 and 8192 px.
    for shape, measured_gb in (((1365, 2048), 4.09), ((2730, 4096), 4.14), ((5460, 8192), 4.67)):
        estimate = tiled_bytes(1024**2, 0, shape[0] * shape[1]) / GB
        assert measured_gb <= estimate < 1.15 * measured_gb


def test_paint_in_tiles_lays_each_painted_tile_in_and_stops_when_asked():
    from impasto.engine.tiles import paint_in_tiles

    boxes = tile_boxes((40, 60), 32, 8)
    canvas = torch.zeros(1, 3, 40, 60)
    painted = []

    def paint_tile(number, box, start):
        assert start.shape[-2:] == (box.height, box.width)
        painted.append(number)
        return torch.ones(1, 3, box.height, box.width)

    result = paint_in_tiles(boxes, canvas, paint_tile, lambda: False)
    assert result is canvas and painted == list(range(1, len(boxes) + 1)) and len(boxes) == 6
    assert torch.allclose(canvas, torch.ones_like(canvas))  # every pixel is covered by a tile's full weight
    canvas = torch.zeros(1, 3, 40, 60)
    painted.clear()
    paint_in_tiles(boxes, canvas, paint_tile, lambda: True)
    first = boxes[0]
    assert painted == [1] and torch.equal(first.crop(canvas), torch.ones(1, 3, first.height, first.width))
    canvas[..., :first.height, :first.width] = 0
    assert canvas.abs().sum() == 0  # nothing beyond the first tile was painted
