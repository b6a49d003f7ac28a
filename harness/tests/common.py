import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def data(name):
    return os.path.join(DATA, name)


def text(name):
    with open(data(name), errors="replace") as f:
        return f.read()
