"""Packaging beyond what pyproject.toml can say: the repository's top-level ``weights/``
folder (the bundled models and model card) goes into the wheel as ``photoenhance/weights``.
Everything else is configured in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "photoenhance.weights"],
    package_dir={"": "src", "photoenhance.weights": "weights"},
    package_data={
        "photoenhance": ["py.typed"],
        "photoenhance.html_report": ["*.css", "*.js"],  # inlined into the --html page
        "photoenhance.weights": ["*.onnx", "*.pt", "*.md"],
    },
)
