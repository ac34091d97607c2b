"""Benchmarks of the real bot against a bare NoneBot echo bot on the same stack (`python -m bench`).

Nothing here may import `bot` at package import time: the echo bot's process imports `bench.echo_bot` with a
stand-in `bot` package on its path.
"""
