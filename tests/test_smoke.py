import mxlite as mx


def test_import_and_sum():
    assert mx.nd.ones((2, 3)).sum().asscalar() == 6.0
