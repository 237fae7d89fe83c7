"""Build hook: copy the top-level ``assets/`` and ``shaders/`` into the wheel as package data.

Everything else about the package is in ``pyproject.toml``. Editable installs (the README's
commands) read the folders in place; see ``vrdiplomacy/resources.py``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (folder, patterns left out of the wheel)
DATA = (("assets", ("screenshots",)), ("shaders", ()))


class build_py_with_data(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name, leave_out in DATA:
            src = ROOT / name
            if not src.is_dir():
                raise SystemExit(f"setup.py: {src} is missing; build from a source checkout or sdist")
            dst = Path(self.build_lib) / "vrdiplomacy" / "_data" / name
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*leave_out, "__pycache__"))


setup(cmdclass={"build_py": build_py_with_data})
