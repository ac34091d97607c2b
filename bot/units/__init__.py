"""Units, their aliases and operators, registration applications, and unit-name matching.

The package: records (units, operators, applications; how names are matched), service (Units: the roster
index, units, aliases, scopes), registrations (/注册, /审核, binding: the only code on the operators and
applications tables), tree (the 上级单位 of every unit: defaults, subtrees, loops). The bulk roster import is
bot/roster.py.
"""
