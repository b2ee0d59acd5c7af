"""The recorder (history, best image, progress) and the placement (device, dtype, memory) of a run."""
import pytest
import torch

from impasto.config.options import resolve_options
from impasto.errors import OptionError
from impasto.engine.device import BYTES_PER_PIXEL, FIXED_BYTES, Placement, estimate_bytes
from impasto.engine.inputs import RunInputs
from impasto.engine.optimizers import Step
from impasto.engine.plan import plan_run
from impasto.engine.recorder import Recorder, TileInPlay
from impasto.engine.tiles import Box
from impasto.net.features import VGGFeatures
from tests.conftest import gradient_image, stripes_image


@pytest.fixture
def plan(vgg19_weights):
    options = resolve_options(size=64, scales=2, min_size=32, iterations=[3, 2], style_balance=0.0)
    inputs = RunInputs(gradient_image(96, 64), stripes_image(40, 40), options)
    return plan_run(options, inputs, VGGFeatures(vgg19_weights), Placement(torch.device("cpu")))[0]


def step(iteration: int, total: float, shape, value: float = 0.0) -> Step:
    return Step(iteration, {"content": total / 2, "style": total / 2}, total, 0.1, torch.full((1, 3, *shape), value))


def test_the_history_logs_every_nth_step_and_each_scales_last(plan):
    recorder = Recorder(plan, log_every=2)
    coarse, fine = plan.stages
    recorder.begin(coarse)
    for iteration in (1, 2, 3):
        recorder.record(coarse, step(iteration, 10.0 - iteration, coarse.shape))
    rows = recorder.history
    assert [(row["stage"], row["iteration"], row["step"]) for row in rows] == [(1, 2, 2), (1, 3, 3)]
    assert rows[0] == {"step": 2, "stage": 1, "height": coarse.shape[0], "width": coarse.shape[1], "iteration": 2,
                       "content": 4.0, "style": 4.0, "total": 8.0, "lr": 0.1, "elapsed": rows[0]["elapsed"]}
    assert recorder.step == 3 and "tile" not in rows[0]


def test_the_best_image_is_the_lowest_loss_of_the_scale_in_play(plan):
    recorder = Recorder(plan, log_every=1)
    coarse, fine = plan.stages
    assert recorder.best_rgb() is None
    recorder.begin(coarse)
    recorder.record(coarse, step(1, 5.0, coarse.shape, value=0.1))
    recorder.record(coarse, step(2, 3.0, coarse.shape, value=0.2))  # the best
    recorder.record(coarse, step(3, 4.0, coarse.shape, value=0.3))
    assert recorder.best_rgb().mean().item() == pytest.approx(0.2)
    assert recorder.current.mean().item() == pytest.approx(0.3)  # the latest, not the best
    recorder.finish_stage(torch.full((1, 3, *coarse.shape), 0.25))
    assert recorder.best_rgb().mean().item() == pytest.approx(0.25)  # the finished scale
    recorder.begin(fine)
    recorder.record(fine, step(1, 9.0, fine.shape, value=0.6))
    assert recorder.best_rgb().shape[-2:] == fine.shape  # a finer best beats the coarser result
    recorder.canvas = torch.full((1, 3, *fine.shape), 0.9)
    assert recorder.best_rgb().mean().item() == pytest.approx(0.9)  # a tiled scale's canvas, done tiles in it


def test_progress_counts_pixel_weighted_work_and_tiles(plan):
    seen = []
    recorder = Recorder(plan, log_every=1, callback=seen.append)
    coarse, fine = plan.stages
    recorder.begin(coarse)
    for iteration in (1, 2, 3):
        recorder.record(coarse, step(iteration, 1.0, coarse.shape))
    recorder.begin(fine, TileInPlay(2, 3, Box(0, 0, *fine.shape)))
    recorder.record(fine, step(1, 1.0, fine.shape))
    work = 3 * coarse.pixels / plan.total_work
    assert seen[2].work_fraction == pytest.approx(work) and seen[2].total_steps == 5 and seen[2].stages == 2
    assert (seen[3].tile, seen[3].tiles) == (2, 3) and recorder.history[-1]["tile"] == 2
    assert seen[3].eta == pytest.approx(seen[3].elapsed * (1 - seen[3].work_fraction) / seen[3].work_fraction)


def test_stop_is_answered_at_the_next_step(plan):
    recorder = Recorder(plan, log_every=1)
    stage = plan.stages[0]
    recorder.begin(stage)
    assert recorder.record(stage, step(1, 1.0, stage.shape)) is False
    recorder.stop_requested = True
    assert recorder.record(stage, step(2, 1.0, stage.shape)) is True


def test_a_placement_moves_tensors_and_modules_and_counts_memory_by_dtype():
    half = Placement(torch.device("cpu"), torch.float16)
    assert half.put(torch.ones(2, dtype=torch.float32)).dtype == torch.float16
    assert next(half.put(torch.nn.Linear(2, 2)).parameters()).dtype == torch.float16
    assert estimate_bytes(1000) == FIXED_BYTES + BYTES_PER_PIXEL * 1000  # measured in float32
    assert half.estimate_bytes(1000) == FIXED_BYTES + BYTES_PER_PIXEL // 2 * 1000
    assert Placement.named("cpu").device == torch.device("cpu")


def test_precision_auto_takes_bfloat16_only_where_the_cpu_has_it_in_hardware(monkeypatch):
    from impasto.engine import device

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert device.pick_compute_dtype("float32", cpu) == torch.float32
    assert device.pick_compute_dtype("bfloat16", cpu) == torch.bfloat16
    for amx, avx512_bf16, expected in ((True, False, torch.bfloat16), (False, True, torch.bfloat16),
                                       (False, False, torch.float32)):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda amx=amx: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda bf16=avx512_bf16: bf16)
        assert device.pick_compute_dtype("auto", cpu) == expected
        assert device.pick_compute_dtype("auto", cuda) == torch.float32  # GPUs: not measured, so float32
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")  # a PyTorch without the private helpers
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    assert device.pick_compute_dtype("auto", cpu) == torch.float32
    assert Placement.named("cpu", "bfloat16").compute_dtype == torch.bfloat16
    assert Placement.named("cpu", "bfloat16").dtype == torch.float32  # images and losses stay float32
    with pytest.raises(OptionError, match="precision must be one of auto, float32, bfloat16"):
        device.pick_compute_dtype("float16", cpu)
