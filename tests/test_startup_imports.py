"""Start-up: what `chemo bsa` and `chemo dose` import, and the value classes that replaced attrs
on their path (chemo/value.py) behaving as the attrs @frozen classes did."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

from chemo.datafile import Problem, Source
from chemo.library import Limits, Model, load_library
from chemo.regimen import load_regimen
from chemo.value import FrozenValueError


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


def test_bsa_imports_neither_the_library_nor_attrs(tmp_path):
    """With the library checked clean once (the body-size table cached beside it), chemo bsa, its BMI
    check and its obesity note need neither chemo.library, the regimen code nor attrs."""
    env = {"CHEMO_CACHE_DIR": str(tmp_path / "cache")}
    args = ["bsa", "--height", "170 cm", "--weight", "105 kg"]  # BMI 36: the obesity note too
    _modules_after(args, env)  # first run: reads and checks the library, fills the cache
    modules = _modules_after(args, env)
    assert {"chemo.bodysize", "chemo.units"} <= modules
    assert not modules & {"chemo.library", "chemo.regimen", "chemo.datafile", "attrs", "attr", "tomllib"}


def test_dose_path_builds_no_attrs_class_of_its_own():
    """Nothing on the path of chemo dose and chemo verify imports attrs (issue 11: ~10 ms a process)."""
    code = ("import sys; import chemo.library, chemo.regimen, chemo.datafile, chemo.dose, chemo.verify, "
            "chemo.order, chemo.dose_text, chemo.cli_dose; "
            "print('attrs' in sys.modules or 'attr' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_values_are_frozen_and_compare_by_class_and_fields():
    a, b = Problem("f.toml", "drugs[0]", "bad"), Problem(file="f.toml", path="drugs[0]", message="bad")
    assert a == b and hash(a) == hash(b) and not a != b
    assert a != Problem("f.toml", "drugs[0]", "other")
    assert a != ("f.toml", "drugs[0]", "bad") and Model("f.toml", "drugs[0]", "bad") != a  # same fields, other class
    assert repr(a) == "Problem(file='f.toml', path='drugs[0]', message='bad')"
    with pytest.raises(AttributeError):
        a.message = "changed"
    with pytest.raises(FrozenValueError):
        del a.file
    assert pickle.loads(pickle.dumps(a)) == a


def test_replace_is_a_checked_copy_as_attrs_evolve_was():
    a = Problem("f.toml", "drugs[0]", "bad")
    b = a._replace(message="other")
    assert b == Problem("f.toml", "drugs[0]", "other") and a.message == "bad"
    with pytest.raises(TypeError):
        a._replace(colour="red")


def test_defaults_are_shared_and_factories_are_not():
    limits = Limits({}, {}, "s")
    assert limits.min_single == {} and limits.min_source is None
    assert limits.min_single is Limits({}, {}, "t").min_single  # a plain default, as attrs shares it
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
