"""Config files read as the workflow reads them (pypet_sm/define/config_file.py): errors name
the file and the line, duplicate keys are refused, `1e-3` is a float; and the user's code
named in the config (pypet_sm/define/user_code.py): shadowed modules, folders, sys.exit()."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest

from pypet_sm.define import config_file, user_code
from pypet_sm.define.config_file import ConfigFileError
from pypet_sm.errors import ConfigError
from pypet_sm.execute import plan

from .conftest import write_unique_module


def _load(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return config_file.load(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("trajectory:\n\tname: t\n", "line 2, column 1: found character '\\t'"),
        ("trajectory:\n\tname: t\n", "a tab: YAML indents with spaces only"),
        ("job: a: b\n", "line 1, column 7: mapping values are not allowed here"),
        ("parameters: [1, 2\njob: x\n", "line 2, column 4: expected ',' or ']'"),
        ("", "is empty: expected a mapping of settings"),
        ("# only a comment\n", "is empty"),
        ("- trajectory\n- job\n", "line 1: expected a mapping of settings"),
        ("\n\n- trajectory\n", "line 3: expected a mapping of settings (trajectory:"),
        ("just words\n", "got the str 'just words'"),
        (
            "parameters:\n  x: 1\n  y: 2\n  x: 3\n",
            "line 4: key 'x' appears twice in one mapping (first at line 2)",
        ),
        (
            "parameters: {x: 1, x: 2}\n",
            "line 1, column 20: key 'x' appears twice in one mapping (first at line 1, column 14)",
        ),
        ('{"job": "a:b", "job": "c:d"}', "line 1, column 16: key 'job' appears twice"),
        ("[1, 2]", "expected a mapping of settings (trajectory:, parameters:, exploration:, job:"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigFileError) as caught:
        _load(tmp_path, text)
    assert str(caught.value).startswith("config.yaml"), caught.value
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_folder_and_binary_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigFileError, match=r"config file config.yaml does not exist \(write"):
        config_file.load("config.yaml")
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ConfigFileError, match="config file folder.yaml is a folder, not a file"):
        config_file.load("folder.yaml")
    (tmp_path / "latin1.yaml").write_bytes("comment: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigFileError, match="latin1.yaml is not UTF-8 text"):
        config_file.load("latin1.yaml")


def test_merge_keys_and_equal_keys_in_different_mappings_are_fine(tmp_path):
    document = _load(
        tmp_path,
        """
        base: &base {value: 1.0, comment: c}
        parameters:
          x: {<<: *base, value: 2.0}
          y: {x: 1}
        """,
    )
    assert document["parameters"] == {"x": {"value": 2.0, "comment": "c"}, "y": {"x": 1}}
    # a yte template (Snakemake renders `__use_yte__: true` files) repeats its `?if` keys
    _load(tmp_path, "__use_yte__: true\n?if True:\n  a: 1\n?if True:\n  b: 2\n")


def test_yaml_12_floats_and_quoted_strings(tmp_path):
    document = _load(
        tmp_path,
        """
        parameters:
          a: 1e-3
          b: 2E5
          c: 1.5e3
          d: -.5e-2
          e: '1e-3'
          f: 1.0e+3
          g: 10
          h: 0x10
        exploration: {zip: {a: [1e-3, 1e-2], e: ['1e-3', 1e2]}}
        """,
    )
    parameters = document["parameters"]
    assert parameters == {
        "a": 1e-3,
        "b": 2e5,
        "c": 1.5e3,
        "d": -0.5e-2,
        "e": "1e-3",
        "f": 1e3,
        "g": 10,
        "h": 16,
    }
    assert [type(parameters[k]) for k in "abcdef"] == [float] * 4 + [str, float]
    # Snakemake's config (YAML 1.1) made strings of them: retype makes those floats only
    import yaml

    snakemake_config = yaml.load((tmp_path / "config.yaml").read_text(), Loader=yaml.FullLoader)
    assert snakemake_config["parameters"]["a"] == "1e-3"
    config_file.retype(snakemake_config, [document])
    assert snakemake_config["parameters"] == parameters
    assert snakemake_config["exploration"] == {"zip": {"a": [1e-3, 1e-2], "e": ["1e-3", 100.0]}}


def test_retype_follows_the_last_file_and_leaves_overrides_alone():
    config = {"parameters": {"a": "1e-3", "b": "1e5", "c": 7}}
    first = {"parameters": {"a": 1e-3, "b": 1e5, "c": 1e2}}
    second = {"parameters": {"b": "1e5"}}  # quoted in the later file: a string
    config_file.retype(config, [first, second])
    assert config == {"parameters": {"a": 1e-3, "b": "1e5", "c": 7}}


# the user's code --------------------------------------------------------------------------


def test_a_project_module_named_like_a_standard_module_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "random.py").write_text("def main(traj):\n    pass\n")
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "__init__.py").write_text("def build(traj):\n    pass\n")
    for spec, shown in (("random:main", "random.py"), ("json:build", "json")):
        with pytest.raises(ConfigError) as caught:
            user_code.import_object(spec, "job")
        message = str(caught.value)
        assert f"the project's {shown} has the name of Python's standard-library" in message
        assert f"rename {shown}" in message


def test_a_project_module_behind_an_installed_one_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yaml.py").write_text("def main(traj):\n    pass\n")  # PyYAML is loaded
    with pytest.raises(ConfigError) as caught:
        user_code.import_object("yaml:main", "build")
    message = str(caught.value)
    assert message.startswith("config field 'build': `import yaml` does not import the project's")
    assert "yaml.py: Python finds" in message and sys.modules["yaml"].__file__ in message


def test_own_modules_packages_and_folders_import(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = write_unique_module(tmp_path, "def main(traj):\n    pass\n")
    assert user_code.import_object(f"{name}:main", "job").__name__ == "main"
    user_code.import_object(f"{name}:main", "job")  # imported already: still the project's
    package = tmp_path / f"{name}_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sim.py").write_text("def main(traj):\n    pass\n")
    assert user_code.import_object(f"{name}_pkg.sim:main", "job").__name__ == "main"
    folder = tmp_path / f"{name}_folder"  # a namespace package: no __init__.py
    folder.mkdir()
    (folder / "sim.py").write_text("def main(traj):\n    pass\n")
    assert user_code.import_object(f"{name}_folder.sim:main", "job").__name__ == "main"
    with pytest.raises(ConfigError) as caught:
        user_code.import_object(f"{name}_folder:main", "job")
    assert f"'{name}_folder' is the folder {name}_folder, not a module file" in str(caught.value)


HOOKS = """
import sys


class Stop(BaseException):
    pass


def exits(traj):
    sys.exit(0)


def exits_3(traj):
    raise SystemExit(3)


def exits_none(traj):
    sys.exit()


def interrupted(traj):
    raise KeyboardInterrupt


def base(traj):
    raise Stop("not an Exception")


class Loud(Exception):
    def __str__(self):
        raise RuntimeError("no str")


def loud(traj):
    raise Loud()
"""


@pytest.mark.parametrize(
    "function, message",
    [
        ("exits", "called sys.exit(0) (at "),
        ("exits_3", "called sys.exit(3)"),
        ("exits_none", "called sys.exit() (at "),
        ("interrupted", "was interrupted (Ctrl-C) (at "),
        ("base", "raised Stop: not an Exception"),
        ("loud", "raised Loud: <Loud whose str() fails>"),
    ],
)
def test_a_build_hook_that_exits_or_is_interrupted_is_one_message(
    tmp_path, monkeypatch, function, message
):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, HOOKS)
    config = {"trajectory": {"name": "t"}, "build": f"{module}:{function}", "job": "math:prod"}
    with pytest.raises(ConfigError) as caught:
        plan.from_config(config)
    assert caught.value.field == "build"
    assert f"{module}:{function}" in str(caught.value)
    assert message in str(caught.value)
    assert f"{module}.py:" in str(caught.value)


def test_sys_exit_while_a_module_is_imported_is_one_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, "import sys\nsys.exit(0)\n")
    for field in ("build", "job"):
        config = {"trajectory": {"name": "t"}, "job": "math:prod"}
        config[field] = f"{module}:f"
        with pytest.raises(ConfigError) as caught:
            plan.from_config(config)
        assert str(caught.value).startswith(
            f"config field '{field}': importing module {module!r} called sys.exit(0) (at "
        )
        sys.modules.pop(module, None)


def test_a_slow_call_is_announced_and_a_quick_one_is_not(capsys):
    with user_code.announced("calling build hook m:quick", delay=0.5):
        pass
    time.sleep(0.7)
    assert capsys.readouterr().err == ""
    with user_code.announced("calling build hook m:slow", delay=0.1):
        time.sleep(0.5)
    assert capsys.readouterr().err == (
        "pypet_sm: calling build hook m:slow ... (still running; Ctrl-C stops it)\n"
    )
