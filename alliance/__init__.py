"""The program: starts the bot (core `bot`, handlers `plugins`), imports a roster, or runs the demo (`sim.demo`).

It sits above the three so that the core never imports the plugins or the demo. `python -m alliance` and
`python -m bot` (the README's command, a thin delegate) both run `alliance.main.main`.
"""
