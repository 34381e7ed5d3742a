__version__ = "0.0.1"


def __getattr__(name):
    "Import `clef_nb.embed` lazily, so that `import clef_nb.io` does not pull in torch."
    if name == 'embed':
        from .embedding import embed
        return embed
    raise AttributeError(f"module 'clef_nb' has no attribute {name!r}")
