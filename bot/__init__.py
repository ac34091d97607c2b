"""联盟助手: the core of the alliance bot (no NoneBot matchers here)."""
