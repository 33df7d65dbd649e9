from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photoenhance.io import read_rgb  # noqa: E402
from photoenhance.model import create_model, head_convs  # noqa: E402
from photoenhance.model.net import EnhanceNet  # noqa: E402
from photoenhance.quant.qat import calibrate  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "photos"


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photograph (HWC float32), cropped to a multiple of 8."""
    rgb = read_rgb(EXAMPLES / "coffee.jpg")
    return np.ascontiguousarray(rgb[:392, :592])


@pytest.fixture(scope="session", params=["small", "v3-small", "v3-stats"])
def qat_model(request: pytest.FixtureRequest, photo: np.ndarray) -> EnhanceNet:
    """A network of each layout (v2: models 0.1/0.2; v3; v3 with the statistics input,
    I/O format 3: model 0.3) with non-trivial weights, calibrated and in QAT mode."""
    torch.manual_seed(0)
    net = create_model(request.param).eval()
    with torch.no_grad():
        for c in head_convs(net):
            torch.nn.init.normal_(c.weight, std=0.02)
    x = torch.from_numpy(photo.transpose(2, 0, 1)[None].copy())
    crops = [(x[..., i : i + 96, j : j + 96],) for i in (0, 150, 290) for j in (0, 240, 480)]
    calibrate(net, crops)
    return net
