"""The read side (issue 23): what is built from the services' records for people to read — reports, exports,
/查询, the monthly list, merged return workbooks and the picture views. Nothing here writes a service's tables.
"""
