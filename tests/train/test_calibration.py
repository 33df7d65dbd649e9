"""Quantizer calibration: ranges are the extremes over every calibration batch, and the
calibration batches are crops of the pairs' inputs and targets (no clean photos)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from photoenhance.data.pairs import find_pairs  # noqa: E402
from photoenhance.data.synthetic import SyntheticPairSource  # noqa: E402
from photoenhance.model.fake_quant import ActQuant, init_quantizers, set_quant_mode  # noqa: E402
from photoenhance.train.batches import BatchSampler, load_pairs  # noqa: E402


def test_observer_keeps_the_extremes_of_every_batch() -> None:
    q = ActQuant()
    set_quant_mode(q, "observe")
    q(torch.tensor([0.0, 1.0]))
    q(torch.tensor([-0.5, 0.2]))  # a later batch with a lower minimum
    q(torch.tensor([0.1, 4.0]))  # and one with a much higher maximum
    assert float(q.running_min) == -0.5 and float(q.running_max) == 4.0
    init_quantizers(q)
    lo = -float(q.zero_point) * float(q.scale)
    hi = (255 - float(q.zero_point)) * float(q.scale)
    step = float(q.scale)
    assert lo <= -0.5 + step and hi >= 4.0 - step  # nothing observed is clipped (to a step)


def test_calibration_batches_are_pair_inputs_and_targets(pairs_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):  # noise photos: far more high-frequency energy than any pair crop
        Image.fromarray(rng.integers(0, 256, (80, 90, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    real = load_pairs(find_pairs(pairs_dir).pairs)
    photos = SyntheticPairSource(root, 32, np.random.default_rng(1))
    sampler = BatchSampler(real, None, 32, 0.0, np.random.default_rng(0), identity_fraction=0.5,
                           identity_photos=photos)
    x = sampler.calibration(40)
    assert x.shape == (40, 3, 32, 32)
    hf = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).mean(dim=1)
    assert float(hf.max()) < 0.15  # no clean-photo crop
    # pairs: each input crop is followed by its target crop (the targets differ from it)
    assert not torch.equal(x[0], x[1])
    # the training batches of the same sampler do contain the photos (not vacuous)
    xs, _ = sampler.sample(200)
    hf_train = (xs[..., 1:, :] - xs[..., :-1, :]).abs().flatten(1).mean(dim=1)
    assert float((hf_train > 0.15).float().mean()) > 0.1
