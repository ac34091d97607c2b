"""Units, their aliases and operators, registration applications, and unit-name matching.

The package: records (units, operators, applications; how names are matched), service (Units: the roster
index, units, aliases, scopes), registrations (/注册, /审核, binding: the only code on the operators and
applications tables). The bulk roster import is bot/roster.py.
"""
