"""The product brief's example, verbatim, with ``import mxlite as mx``: it runs and it trains."""

from __future__ import annotations

import doctest
import logging
import warnings

import numpy as np
import pytest

import mxlite as mx

# the seed's text, character for character (code blocks of "Optimization: initialize and
# update weights"), only joined into one doctest
SEED_EXAMPLE = """
>>> data = mx.symbol.Variable('data')
>>> label = mx.symbol.Variable('softmax_label')
>>> fc = mx.symbol.FullyConnected(data, name='fc', num_hidden=10)
>>> loss = mx.symbol.SoftmaxOutput(fc, label, name='softmax')
>>> mod = mx.mod.Module(loss)
>>> mod.bind(data_shapes=[('data', (128,20))], label_shapes=[('softmax_label', (128,))]) 
>>> mod.init_params(mx.initializer.Uniform(scale=1.0)) 
>>> lr_sch = mx.lr_scheduler.FactorScheduler(step=100, factor=0.9)
>>> mod.init_optimizer(
... optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ('lr_scheduler', lr_sch))) 
"""  # noqa: W291


def _run_seed():
    globs = {"mx": mx}
    test = doctest.DocTestParser().get_doctest(SEED_EXAMPLE, globs, "seed", "seed.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = runner.run(test, clear_globs=False)
    assert result.failed == 0 and result.attempted == 9
    return test.globs


def _synthetic(n, seed):
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(123).normal(size=(20, 10))
    x = rng.normal(size=(n, 20)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1).astype(np.float32)


def test_seed_example_runs_verbatim():
    globs = _run_seed()
    mod = globs["mod"]
    assert mod.binded and mod.params_initialized and mod.optimizer_initialized
    w = mod.get_params()[0]["fc_weight"].asnumpy()
    assert w.shape == (10, 20) and -1 <= w.min() < -0.5 and 0.5 < w.max() <= 1
    assert mod._optimizer.lr_scheduler is globs["lr_sch"]


def test_seed_example_fit_trains(caplog):
    globs = _run_seed()
    mod = globs["mod"]
    x, y = _synthetic(1280, 0)
    xv, yv = _synthetic(384, 1)
    train = mx.io.NDArrayIter(x, y, batch_size=128, shuffle=True)
    val = mx.io.NDArrayIter(xv, yv, batch_size=128)
    before = mod.score(val, "acc")[0][1]
    with caplog.at_level(logging.INFO), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mod.fit(train, eval_data=val, num_epoch=40)
    after = mod.score(val, "acc")[0][1]
    assert after > 0.7 and after > before + 0.4
    # 400 updates: FactorScheduler(step=100, factor=0.9) has decayed the rate 3 times
    assert mod._optimizer._get_lr(0) == pytest.approx(0.1 * 0.9**3)
    assert "Epoch[39] Validation-accuracy=" in caplog.text
