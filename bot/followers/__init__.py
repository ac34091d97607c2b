"""Follower counts: self-reports, targets, rankings of units, the 僵尸号 watch and the monthly reminder.

Decisions where the spec is silent:
- a unit's count is the sum of the latest reported counts of its live accounts (正常 or 待审核), per platform
  when a platform is asked for; the category target applies to that total (all platforms together);
- a report is for today; one per account and day counts, a second one the same day replaces it (the replaced
  value goes to the audit log);
- a count that looks like a slipped digit or is off the account's trend (records.implausible) is stored only once
  the person confirms it: a plain 确认, /粉丝 确认, or the command again with 确认; a same-day correction is checked
  the same way, against the days before (or, with none, the count it replaces);
- growth over a period is, per account reported in the period, its last count in the period minus its last
  count before the period (or, for an account first reported in the period, its first count in it);
- the monthly reminder goes out on the first working day (China's public holidays skipped, 调休 counted:
  bot/workdays.py) at ALLIANCE_FOLLOWER_REMINDER to the operators of units with live accounts and no report yet that
  month.

The package: targets (the table and its settings), periods, records, service (Followers: reports, targets,
progress) and its parts: own_accounts (`own`: the account a command names), ranking (`rankings`: rankings and their
cache), post_dates (`watch`: post dates, 僵尸号), reminder (`reminder`: the monthly reminder).
"""
