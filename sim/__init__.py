"""The simulated QQ side: a OneBot v11 client over reverse WebSocket and a bot-subprocess runner (`sim.qqsim`),
the terminal demo (`sim.demo`, run by `python -m bot demo`). Used by the e2e tests, the demo and the benchmarks;
the bot itself never imports it."""
