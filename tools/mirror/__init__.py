"""Build a mirror of the Apache archive from Maven Central and PyPI, and serve it."""


class MirrorError(RuntimeError):
    """A clear, one-line reason why the mirror could not be built."""
