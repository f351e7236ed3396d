# By the group's name: its definition (principals, role, members, network policy, and what it
# granted) is read from vCenter.
terraform import vmgmt_security_group.db_admins db-admins
