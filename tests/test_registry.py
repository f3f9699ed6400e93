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
