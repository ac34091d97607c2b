"""NoneBot plugins of 联盟助手: one folder per feature the user sees; thin handlers over `bot`."""
