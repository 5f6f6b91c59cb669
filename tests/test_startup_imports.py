"""Start-up: what `chemo bsa` imports, and the value classes (attrs @frozen) behaving as values."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import attrs
import pytest

from chemo.datafile import Problem, Source
from chemo.library import Limits, Model, load_library
from chemo.regimen import load_regimen


def _modules_after(argv: list[str], env: dict | None = None) -> set[str]:
    """The modules loaded once the console script has run ``argv`` (in a fresh process)."""
    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
            f"sys.argv = ['chemo'] + {argv!r}\n"
            "from importlib.metadata import entry_points\n"
            "entry_points(group='console_scripts')['chemo'].load()()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr
    return set(out.stderr.rsplit("MODULES ", 1)[1].split())


def test_bsa_imports_neither_the_library_nor_the_regimen_code(tmp_path):
    """With the library checked clean once (the body-size table cached beside it), chemo bsa, its BMI
    check and its obesity note need neither chemo.library, the regimen code nor a TOML parser."""
    env = {"CHEMO_CACHE_DIR": str(tmp_path / "cache")}
    args = ["bsa", "--height", "170 cm", "--weight", "105 kg"]  # BMI 36: the obesity note too
    _modules_after(args, env)  # first run: reads and checks the library, fills the cache
    modules = _modules_after(args, env)
    assert {"chemo.bodysize", "chemo.units"} <= modules
    assert not modules & {"chemo.library", "chemo.regimen", "chemo.datafile", "tomllib"}


def test_values_are_frozen_and_compare_by_class_and_fields():
    a, b = Problem("f.toml", "drugs[0]", "bad"), Problem(file="f.toml", path="drugs[0]", message="bad")
    assert a == b and hash(a) == hash(b) and not a != b
    assert a != Problem("f.toml", "drugs[0]", "other")
    assert a != ("f.toml", "drugs[0]", "bad") and Model("f.toml", "drugs[0]", "bad") != a  # same fields, other class
    assert repr(a) == "Problem(file='f.toml', path='drugs[0]', message='bad')"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.message = "changed"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del a.file
    assert pickle.loads(pickle.dumps(a)) == a


def test_evolve_is_a_checked_copy():
    a = Problem("f.toml", "drugs[0]", "bad")
    b = attrs.evolve(a, message="other")
    assert b == Problem("f.toml", "drugs[0]", "other") and a.message == "bad"
    with pytest.raises(TypeError):
        attrs.evolve(a, colour="red")


def test_defaults_and_factories():
    limits = Limits({}, {}, "s")
    assert limits.min_single == {} and limits.min_source is None
    one, two = Source("a", None, None), Source("b", None, None)
    assert one.problems == [] and one.problems is not two.problems  # field(factory=list)
    with pytest.raises(TypeError):
        Model("only-id")
    with pytest.raises(TypeError):
        Model("a", "b", "c", colour="red")


def test_library_and_regimen_survive_the_cache_pickle():
    library = load_library()
    assert pickle.loads(pickle.dumps(library)) == library
    regimen = load_regimen("doxorubicin-ifosfamide")
    again = pickle.loads(pickle.dumps(regimen))
    assert again == regimen and again.drugs[0].daily == regimen.drugs[0].daily
