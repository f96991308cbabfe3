"""mxlite.base: the Registry shared by everything created by name, atomic_write, MXNetError."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mxlite.base import MXNetError, Registry, atomic_write, env_switch, numeric_types, string_types


class Base:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


class Other:
    pass


@pytest.fixture
def reg():
    r = Registry(Base, "widget")

    @r.register
    class Alpha(Base):
        pass

    @r.register(name="Beta_Widget")
    class Beta(Base):
        pass

    @r.alias("a1", "first")
    @r.register
    class Gamma(Base):
        pass

    r.classes = {"Alpha": Alpha, "Beta": Beta, "Gamma": Gamma}
    return r


@pytest.mark.parametrize(
    "name, cls",
    [("alpha", "Alpha"), ("ALPHA", "Alpha"), ("beta_widget", "Beta"), ("Beta_Widget", "Beta"),
     ("gamma", "Gamma"), ("A1", "Gamma"), ("first", "Gamma")],
    ids=["lower", "upper", "custom-name", "custom-name-case", "plain", "alias-case", "alias"],
)
def test_find_is_case_insensitive(reg, name, cls):
    assert reg.find(name) is reg.classes[cls]


def test_names_sorted_lowercase(reg):
    assert reg.names() == ["a1", "alpha", "beta_widget", "first", "gamma"]


def test_find_unknown_names_the_kind_and_known(reg):
    with pytest.raises(ValueError, match=r"Cannot find widget 'delta'.*alpha"):
        reg.find("delta")


def test_find_non_string(reg):
    with pytest.raises(TypeError, match="widget name must be a string"):
        reg.find(3)


def test_create_by_name_with_arguments(reg):
    obj = reg.create("ALPHA", 1, k=2)
    assert isinstance(obj, reg.classes["Alpha"])
    assert obj.args == (1,) and obj.kwargs == {"k": 2}


def test_create_passes_instances_through(reg):
    inst = reg.classes["Beta"]()
    assert reg.create(inst) is inst
    with pytest.raises(ValueError, match="extra arguments"):
        reg.create(inst, k=1)


@pytest.mark.parametrize(
    "spec, kwargs, expected",
    [('["alpha", {"lr": 0.1}]', {}, {"lr": 0.1}),
     ('  ["first", {}]', {"x": 1}, {"x": 1}),
     ('["beta_widget", {"lr": 0.1}]', {"lr": 0.5}, {"lr": 0.5})],
    ids=["json", "json-alias-extra", "kwargs-override"],
)
def test_create_from_json(reg, spec, kwargs, expected):
    obj = reg.create(spec, **kwargs)
    assert obj.kwargs == expected


def test_create_round_trips_json_dump(reg):
    text = json.dumps(["gamma", {"a": [1, 2], "b": "s"}])
    assert reg.create(text).kwargs == {"a": [1, 2], "b": "s"}


@pytest.mark.parametrize(
    "spec, error, match",
    [('["alpha", {"lr": 0.1}', ValueError, "malformed widget JSON"),
     ('["alpha", 3]', ValueError, "parameters not an object"),
     ('["alpha"]', ValueError, "malformed"),
     (3.5, TypeError, "must be a name"),
     ("nope", ValueError, "Cannot find widget")],
    ids=["truncated", "params-not-object", "one-element", "not-a-string", "unknown"],
)
def test_create_errors(reg, spec, error, match):
    with pytest.raises(error, match=match):
        reg.create(spec)


def test_register_rejects_non_subclasses(reg):
    with pytest.raises(TypeError, match="subclasses of Base"):
        reg.register(Other)
    with pytest.raises(TypeError, match="subclasses of Base"):
        reg.register(lambda: None)


def test_register_override_warns(reg):
    class Alpha(Base):
        pass

    with pytest.warns(UserWarning, match="overriding existing widget"):
        reg.register(Alpha)
    assert reg.find("alpha") is Alpha


def test_reregistering_same_class_is_silent(reg, recwarn):
    reg.register(reg.classes["Alpha"])
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_registries_are_independent():
    r1, r2 = Registry(Base, "a"), Registry(Base, "b")

    @r1.register
    class Only(Base):
        pass

    assert r1.names() == ["only"] and r2.names() == []


# ---------------------------------------------------------------------- atomic_write
def test_atomic_write_creates_and_replaces(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, b"one")
    assert path.read_bytes() == b"one"
    atomic_write(str(path), bytearray(b"two-longer"))
    assert path.read_bytes() == b"two-longer"
    atomic_write(path, memoryview(b"3"))
    assert path.read_bytes() == b"3"
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_atomic_write_rejects_text_and_leaves_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, b"keep")
    with pytest.raises(TypeError, match="bytes"):
        atomic_write(path, "text")
    assert path.read_bytes() == b"keep"
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_atomic_write_failure_cleans_temp(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write(path, b"old")

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_atomic_write_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nope" / "f.bin", b"x")


def test_atomic_write_empty(tmp_path):
    atomic_write(tmp_path / "e", b"")
    assert (tmp_path / "e").read_bytes() == b""


# ---------------------------------------------------------------------- misc
def test_mxnet_error_and_type_tuples():
    assert issubclass(MXNetError, RuntimeError)
    assert isinstance(np.float32(1), numeric_types) and isinstance(3, numeric_types)
    assert isinstance("s", string_types)


# ---------------------------------------------------------------------- env_switch
@pytest.mark.parametrize("value, default, on", [
    (None, True, True), (None, False, False), ("", False, False), ("  ", True, True),
    ("1", False, True), ("0", True, False), ("TRUE", False, True), ("off", True, False),
    ("Yes", False, True), ("no", True, False), ("2", False, True), ("-1", False, True),
    ("00", True, False),
], ids=["unset", "unset-default-off", "empty", "blank", "1", "0", "TRUE", "off", "Yes", "no",
        "2", "-1", "00"])
def test_env_switch(value, default, on, monkeypatch):
    if value is None:
        monkeypatch.delenv("MXLITE_TEST_SWITCH", raising=False)
    else:
        monkeypatch.setenv("MXLITE_TEST_SWITCH", value)
    assert env_switch("MXLITE_TEST_SWITCH", default) is on


@pytest.mark.parametrize("value", ["banana", "1.5", "enabled"])
def test_env_switch_rejects_other_values(value, monkeypatch):
    monkeypatch.setenv("MXLITE_TEST_SWITCH", value)
    with pytest.raises(ValueError, match=f"MXLITE_TEST_SWITCH.*{value}"):
        env_switch("MXLITE_TEST_SWITCH")
