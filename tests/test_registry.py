import pytest

from vreid.registry import Registry


def test_register_get_and_names():
    reg = Registry("thing")
    reg.register("b")(int)
    reg.register("a")(str)
    assert reg.get("a") is str
    assert reg.names() == ["a", "b"]
    assert "b" in reg and "c" not in reg


def test_duplicate_name_refused():
    reg = Registry("thing")
    reg.register("x")(int)
    with pytest.raises(KeyError, match="already registered"):
        reg.register("x")(str)


def test_unknown_name_lists_known():
    reg = Registry("model")
    reg.register("resnet")(int)
    with pytest.raises(KeyError, match="unknown model 'vit'.*resnet"):
        reg.get("vit")


def test_metadata_is_kept_beside_the_builder():
    reg = Registry("thing")
    reg.register("a", info={"tiny": 1})(int)
    reg.register("b")(str)
    assert reg.info("a") == {"tiny": 1} and reg.info("b") is None
    with pytest.raises(KeyError, match="unknown thing 'c'"):
        reg.info("c")


def test_typed_metadata_is_required_when_declared():
    reg = Registry("model", info_type=dict)
    with pytest.raises(TypeError, match="'x' must be registered with info=<dict>, got NoneType"):
        reg.register("x")
    reg.register("y", info={})(int)
    assert reg.names() == ["y"]
