from impasto.config.options import resolve_options
from impasto.engine.schedule import learning_rate, plan_stages, stage_long_sides


def test_long_sides_are_geometric():
    assert stage_long_sides(512, 128, 3) == [128, 256, 512]
    assert stage_long_sides(512, 128, 1) == [512]
    assert stage_long_sides(100, 160, 3) == [32, 57, 100]  # 100/4 is below the 32 px floor


def test_stages_keep_the_content_aspect():
    options = resolve_options(size=400, scales=2, min_size=200, iterations=[7, 3])
    stages = plan_stages(options, (800, 400))
    assert [(s.shape, s.iterations) for s in stages] == [((100, 200), 7), ((200, 400), 3)]


def test_step_decay_like_d2l():
    options = resolve_options("d2l")
    first, second = plan_stages(options, (900, 600))
    assert learning_rate(options, first, 0) == 0.01
    assert learning_rate(options, first, 199) == 0.01
    assert abs(learning_rate(options, first, 200) - 0.001) < 1e-12
    assert abs(learning_rate(options, second, 250) - 0.01 * 0.1**2) < 1e-12
    constant = resolve_options(lr_decay_every=0)
    assert learning_rate(constant, plan_stages(constant, (64, 64))[0], 1000) == constant.lr
