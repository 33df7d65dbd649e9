"""Identity examples in training batches, the L1+MSE and chroma losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from photoenhance.data.pairs import find_pairs  # noqa: E402
from photoenhance.data.synthetic import SyntheticPairSource  # noqa: E402
from photoenhance.train.batches import BatchSampler, load_pairs  # noqa: E402
from photoenhance.train.loop import TrainConfig, TrainError, train  # noqa: E402
from photoenhance.train.losses import chroma_loss, l1_mse_loss, training_loss  # noqa: E402


def _photos(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (80, 90, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    return root


def test_identity_share_of_batches(pairs_dir: Path, tmp_path: Path) -> None:
    real = load_pairs(find_pairs(pairs_dir).pairs)
    photos = SyntheticPairSource(_photos(tmp_path / "photos"), 32, np.random.default_rng(1))
    sampler = BatchSampler(real, None, 32, 0.0, np.random.default_rng(0), identity_fraction=0.5,
                           identity_photos=photos)
    x, y = sampler.sample(400)
    same = (x == y).flatten(1).all(dim=1)
    # real pairs always differ (target = a tone change of the input); identity ones are equal
    assert 0.4 < float(same.float().mean()) < 0.6
    # about half of the identity examples are clean photo crops (random noise photos: far
    # more high-frequency energy than the smooth synthetic targets)
    ident = x[same]
    hf = (ident[..., 1:, :] - ident[..., :-1, :]).abs().flatten(1).mean(dim=1)
    share_photos = float((hf > 0.15).float().mean())
    assert 0.3 < share_photos < 0.7, share_photos


def test_identity_without_photos_uses_targets_only(pairs_dir: Path) -> None:
    real = load_pairs(find_pairs(pairs_dir).pairs)
    sampler = BatchSampler(real, None, 32, 0.0, np.random.default_rng(0), identity_fraction=0.3)
    x, y = sampler.sample(200)
    assert 0.2 < float((x == y).flatten(1).all(dim=1).float().mean()) < 0.4
    with pytest.raises(ValueError):
        BatchSampler(real, None, 32, 0.0, np.random.default_rng(0), identity_fraction=1.0)


def test_zero_identity_share_keeps_the_random_stream(pairs_dir: Path) -> None:
    """Runs without identity examples draw exactly what they drew before the option."""
    real = load_pairs(find_pairs(pairs_dir).pairs)
    a = BatchSampler(real, None, 32, 0.0, np.random.default_rng(3)).sample(8)
    b = BatchSampler(real, None, 32, 0.0, np.random.default_rng(3), identity_fraction=0.0).sample(8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_l1_mse_and_chroma_losses() -> None:
    p = torch.full((1, 3, 4, 4), 0.5)
    t = p.clone()
    t[:, 0] += 0.2  # chroma 0.2 in the target, 0 in the prediction
    loss, parts = l1_mse_loss(p, t)
    assert float(loss) == pytest.approx(0.2 / 3 + 0.04 / 3)
    assert float(chroma_loss(p, t)) == pytest.approx(0.2)
    total, parts = training_loss("l1mse", p, t, chroma_weight=2.0)
    assert float(total) == pytest.approx(0.2 / 3 + 0.04 / 3 + 0.4)
    assert set(parts) == {"l1", "mse", "chroma"}
    with pytest.raises(ValueError):
        training_loss("ssim", p, t)


def test_train_with_identity_examples_and_l1mse(pairs_dir: Path, tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    cfg = TrainConfig(out=tmp_path / "run", pairs=pairs_dir, init="scratch", size="tiny", steps=6,
                      qat_steps=0, batch_size=4, patch_size=32, eval_every=3, checkpoint_every=3,
                      val_fraction=0.25, threads=1, identity_fraction=0.3, identity_photos=photos,
                      loss="l1mse", chroma_weight=1.0)
    res = train(cfg)
    assert res.finished and res.data["identity_photo_count"] == 3
    with pytest.raises(TrainError, match="--loss"):
        train(TrainConfig(out=tmp_path / "bad", pairs=pairs_dir, loss="psnr"))
