"""``import photoenhance`` stays cheap: the API's names are imported on first use (module
``__getattr__``); no onnxruntime, numpy or Pillow before, and torch never (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import photoenhance

SRC = Path(photoenhance.__file__).resolve().parents[1]
HEAVY = ("onnxruntime", "torch", "numpy", "PIL", "scipy")


def _run(code: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]


LOADED = f"def loaded(): return sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"


def test_import_photoenhance_loads_nothing_heavy() -> None:
    _run(
        "import sys\n" + LOADED
        + "import photoenhance\n"
        "assert photoenhance.__version__\n"
        "assert loaded() == [], loaded()\n"
        "photoenhance.EnhanceError, photoenhance.OutputExistsError, photoenhance.UnsupportedImageError\n"
        "assert loaded() == [], loaded()\n"
        "photoenhance.ImageReadError, photoenhance.ImageWriteError  # photoenhance.io: numpy, PIL\n"
        "assert 'onnxruntime' not in loaded() and 'torch' not in loaded(), loaded()\n"
    )  # fmt: skip


def test_the_api_loads_onnxruntime_on_first_use_and_never_torch() -> None:
    _run(
        "import sys\n" + LOADED
        + "import photoenhance\n"
        "import numpy as np\n"
        "out = photoenhance.enhance(np.zeros((16, 16, 3), np.uint8))\n"
        "assert out.shape == (16, 16, 3)\n"
        "assert 'onnxruntime' in loaded() and 'torch' not in loaded(), loaded()\n"
        "import photoenhance.api, photoenhance.api.kinds, photoenhance.api.encoded\n"
        "assert 'torch' not in loaded() and 'scipy' not in loaded(), loaded()\n"
    )  # fmt: skip


def test_lazy_names_and_all_agree() -> None:
    lazy = photoenhance._LAZY
    assert sorted(photoenhance.__all__) == sorted({"__version__", *lazy})
    assert set(lazy) <= set(dir(photoenhance))
    for name, module in lazy.items():
        value = getattr(photoenhance, name)
        assert value is getattr(sys.modules[module], name)
    import photoenhance.api as api

    assert sorted(api.__all__) == sorted(api._LAZY) and set(api.__all__) <= set(lazy)
    for name in api.__all__:
        assert getattr(api, name) is getattr(photoenhance, name)


def test_unknown_names_are_attribute_errors() -> None:
    try:
        photoenhance.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("no AttributeError")
    assert not hasattr(photoenhance, "enhance_everything")
