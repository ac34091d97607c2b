"""python -m bot: the README's command; the program itself lives above the core, in alliance/main.py."""

import runpy

runpy.run_module("alliance", run_name="__main__", alter_sys=True)
